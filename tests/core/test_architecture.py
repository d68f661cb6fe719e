"""The house holds its shape: the layer order of pyproject.toml's import-linter contracts (no upward
import, module-level or inside a function; no import circle in any package), and no core module
naming a benchmark family. Each check is shown to fail on a copy of the code that breaks it.
"""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the ``skills`` package under ``root`` with ``root``'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def copy_of_code(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "skills", root / "skills", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_layer_contracts_hold():
    proc = lint_imports(REPO_ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 kept, 0 broken" in proc.stdout


def test_an_upward_import_inside_a_function_breaks_the_layers(tmp_path):
    root = copy_of_code(tmp_path)
    io = root / "skills" / "data" / "io.py"  # the data layer must not know about plans
    io.write_text(io.read_text() + "\n\ndef _plan():\n    from skills.pipeline.plan import Plan\n\n    return Plan\n")
    proc = lint_imports(root)
    assert proc.returncode != 0
    assert "skills.data is not allowed to import skills.pipeline" in proc.stdout
    assert "skills.data.io -> skills.pipeline.plan" in proc.stdout


def test_an_import_circle_breaks_the_contracts(tmp_path):
    root = copy_of_code(tmp_path)
    plan = root / "skills" / "pipeline" / "plan.py"  # eval_plan imports plan: back again is a circle
    plan.write_text(plan.read_text() + "\n\ndef _planner():\n    from skills.pipeline import eval_plan\n\n"
                    "    return eval_plan\n")
    proc = lint_imports(root)
    assert proc.returncode != 0
    assert "No cycles are allowed in skills.pipeline" in proc.stdout


# ----------------------------------------------------------------------------- families
def family_names(families: Path) -> List[str]:
    """Every family's package name and benchmark name (``math_500``, ``math-500``, ...)."""
    names = set()
    for info in pkgutil.iter_modules([str(families)]):
        if info.ispkg:
            names.add(info.name)
            spec = getattr(importlib.import_module(f"skills.benchmarks.{info.name}"), "BENCHMARK", None)
            if spec is not None:
                names.add(spec.name)
    return sorted(names, key=len, reverse=True)


def names_a_family(source: str, names: List[str]) -> List[str]:
    """Identifiers and string constants (not docstrings or comments) holding a family's name."""
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, names)) + r")(?![\w-])")
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
        elif isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.alias):
            text = node.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            text = node.module
        else:
            continue
        match = pattern.search(text)
        if match:
            found.append(f"line {getattr(node, 'lineno', '?')}: {match.group(1)!r} in {text[:60]!r}")
    return found


def test_no_core_module_names_a_family():
    """Everything a family needs plugs in by name (docs/architecture.md): the core has no knowledge
    of any one family, so five times as many families need no core change."""
    skills = REPO_ROOT / "skills"
    names = family_names(skills / "benchmarks")
    assert {"math-500", "bfcl_v3", "ruler"} <= set(names)
    problems = []
    for path in sorted(skills.rglob("*.py")):
        rel = path.relative_to(skills)
        if rel.parts[0] == "benchmarks" and len(rel.parts) > 2:
            continue  # a family's own package
        problems += [f"{path.relative_to(REPO_ROOT)} {p}" for p in names_a_family(path.read_text(), names)]
    assert not problems, "core modules name benchmark families:\n" + "\n".join(problems)


@pytest.mark.parametrize("source", [
    "SPECIAL = ('ruler',)",
    "def large(name):\n    return name.startswith('bfcl_v3.')",
    "from skills.benchmarks.ifbench import checkers",
    "x = {'math-500': 1}",
])
def test_the_family_check_sees_a_named_family(source):
    assert names_a_family(source, family_names(REPO_ROOT / "skills" / "benchmarks"))


@pytest.mark.parametrize("source", ['"""Families such as ruler declare it."""\n# bfcl_v3 too\nx = "rulers"'])
def test_docstrings_comments_and_longer_words_are_not_names(source):
    assert not names_a_family(source, family_names(REPO_ROOT / "skills" / "benchmarks"))
