"""Named extension points: graders, metric types, generation programs, group scores, sidecars.

Each kind has one ``Registry``. A name resolves, in order, to:

1. an object registered in this process (``@GRADERS.register("math")`` or ``GRADERS.add(...)``), or
   one of the core's own entries (``builtins``: name -> ``module:attribute``);
2. a ``module:attribute`` path (``my_pkg.graders:toy``), so a user's own package plugs in with no
   registration at all;
3. a declaration of a built-in benchmark package: its ``__init__.py`` may hold
   ``EXTENSIONS = {"grader": {"ifbench": "skills.benchmarks.ifbench.grader:GRADER"}, ...}``. The
   values are strings, so finding them imports no heavy module;
4. the same ``EXTENSIONS`` declarations (or ``register`` calls) of the modules listed in
   ``$SKILLS_PLUGINS`` (comma separated).

The first lookup of an unknown name scans the benchmark packages once per process. This module
imports only the standard library, so graders running in their own environments can use it.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import pkgutil
from typing import Any, Callable, Dict, Generic, List, Optional, TypeVar

from skills.config.errors import UsageError

T = TypeVar("T")
PLUGINS_ENV = "SKILLS_PLUGINS"


def import_path(path: str, what: str = "object") -> Any:
    """``package.module:attr`` (or ``package.module.attr``) -> the attribute; errors are one line."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise UsageError(f"{what} '{path}' is not a 'module:attribute' path")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {what} '{path}': {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UsageError(f"{what} '{path}': module {module_name} has no attribute '{attr}'") from None


FAMILIES = "skills.benchmarks"  # the package whose sub-packages are the benchmark families


def family_packages() -> List[str]:
    """Names of the benchmark family packages (``<name>`` of ``skills.benchmarks.<name>``), found by
    name: the core imports no family, it asks for them."""
    spec = importlib.util.find_spec(FAMILIES)
    paths = list(spec.submodule_search_locations or []) if spec is not None else []
    return [m.name for m in pkgutil.iter_modules(paths) if m.ispkg]


_DECLARED: Optional[Dict[str, Dict[str, str]]] = None


def declared_extensions() -> Dict[str, Dict[str, str]]:
    """kind -> {name: "module:attr"} from every built-in benchmark package and $SKILLS_PLUGINS module."""
    global _DECLARED
    if _DECLARED is None:
        found: Dict[str, Dict[str, str]] = {}
        modules = [f"{FAMILIES}.{p}" for p in family_packages()]
        modules += [m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
        for name in modules:
            try:
                module = importlib.import_module(name)
            except ImportError as exc:
                if name.startswith(FAMILIES + "."):
                    raise
                raise UsageError(f"cannot import plugin module '{name}' (from ${PLUGINS_ENV}): {exc}") from None
            for kind, entries in (getattr(module, "EXTENSIONS", None) or {}).items():
                for key, target in entries.items():
                    found.setdefault(kind, {}).setdefault(key, target)
        _DECLARED = found
    return _DECLARED


class Registry(Generic[T]):
    """Name -> object for one kind of extension (see the module docstring for the lookup order)."""

    def __init__(self, kind: str, label: Optional[str] = None, builtins: Optional[Dict[str, str]] = None):
        self.kind = kind
        self.label = label or kind.replace("_", " ")
        self.builtins = dict(builtins or {})  # name -> "module:attr" of the core's own entries
        self._items: Dict[str, T] = {}

    def add(self, name: str, obj: T) -> T:
        self._items[name] = obj
        return obj

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            return self.add(name, obj)

        return deco

    def names(self) -> List[str]:
        declared = declared_extensions().get(self.kind, {})
        return sorted(k for k in set(self._items) | set(self.builtins) | set(declared) if ":" not in k)

    def find(self, name: str) -> Optional[T]:
        """The object for ``name``, or None when nothing declares it."""
        if name in self._items:
            return self._items[name]
        if ":" in name:
            return self.add(name, import_path(name, self.label))
        target = self.builtins.get(name) or declared_extensions().get(self.kind, {}).get(name)
        if target is not None:
            obj = import_path(target, self.label)
            return self._items.setdefault(name, obj)
        return None

    def get(self, name: str) -> T:
        obj = self.find(name)
        if obj is None:
            known = self.names()
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known) or 'none'}"
            raise UsageError(f"unknown {self.label} '{name}'{hint} (or give a 'module:attribute' path)")
        return obj
