"""Few-shot examples of the reference prompt set, read as data from its Python files.

Upstream keeps the examples as Python modules (lists of dicts, some strings written
``\"\"\"...\"\"\".strip()``) and an ``__init__.py`` that merges every module's ``examples_map``.
Fetched files are never imported or executed: each module is parsed with ``ast`` and only literal
values are evaluated (constants, lists, tuples, dicts, names bound earlier in the same file, and
``.strip()``-style calls on string literals). Anything else is skipped, and an ``examples_map``
that is not pure data is an error naming the file.
"""

from __future__ import annotations

import ast
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

from skills.config.errors import UsageError

STRING_METHODS = ("strip", "lstrip", "rstrip")


class _NotData(Exception):
    pass


def _value(node: ast.AST, names: Dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(e, names) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):  # {**other}
            raise _NotData
        return {_value(k, names): _value(v, names) for k, v in zip(node.keys, node.values)}  # type: ignore[arg-type]
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _value(node.operand, names)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _value(node.left, names), _value(node.right, names)
        if type(left) is type(right) and isinstance(left, (str, list)):
            return left + right
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in STRING_METHODS and not node.keywords and len(node.args) <= 1):
        target = _value(node.func.value, names)
        args = [_value(a, names) for a in node.args]
        if isinstance(target, str) and all(isinstance(a, str) for a in args):
            return getattr(target, node.func.attr)(*args)
    raise _NotData


def module_values(path: Path) -> Dict[str, Any]:
    """Top-level ``name = <data>`` assignments of a Python file, in order (non-data ones skipped)."""
    try:
        with warnings.catch_warnings():  # upstream strings hold LaTeX like "\(": not our warnings to show
            warnings.simplefilter("ignore")
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read few-shot examples file {path}: {exc}") from None
    names: Dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value = node.target.id, node.value
        else:
            continue
        try:
            names[target] = _value(value, names)
        except _NotData:
            if target == "examples_map":
                raise UsageError(f"{path}: examples_map is not plain data") from None
            names.pop(target, None)
    return names


def _module_order(folder: Path) -> List[Path]:
    """Modules in the order ``__init__.py`` imports their ``examples_map`` (else sorted by name)."""
    init = folder / "__init__.py"
    order: List[Path] = []
    if init.is_file():
        try:
            tree = ast.parse(init.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {init}: {exc}") from None
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and any(a.name == "examples_map" for a in node.names):
                path = folder / f"{node.module.rsplit('.', 1)[-1]}.py"
                if path.is_file() and path not in order:
                    order.append(path)
    return order or sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")


@lru_cache(maxsize=8)
def examples_map(folder: Path) -> Dict[str, List[Dict[str, Any]]]:
    """Every example set of the folder by name (``math_text_detailed``, ``mmlu_pro_few_shot_law``, ...)."""
    if not folder.is_dir():
        raise UsageError(f"few-shot examples folder {folder} does not exist")
    merged: Dict[str, List[Dict[str, Any]]] = {}
    for path in _module_order(folder):
        mapping = module_values(path).get("examples_map")
        if mapping is None:
            continue
        if not isinstance(mapping, dict):
            raise UsageError(f"{path}: examples_map must be a dict of name -> list of examples")
        for name, examples in mapping.items():
            if name in merged:
                raise UsageError(f"{path}: few-shot set '{name}' is defined twice")
            if not isinstance(examples, list) or not all(isinstance(e, dict) for e in examples):
                raise UsageError(f"{path}: few-shot set '{name}' must be a list of dicts")
            merged[str(name)] = examples
    return merged
