"""Tools for tool calling (``++tool_modules=[...]``, ``++tool_overrides.<Class>.<key>=...``): the
``Tool`` interface, the loading of tool specs and the ``ToolManager`` of a run, as the reference's
``ToolCallingWrapper`` and tool manager have them. The loop that sends the tools and runs the
model's calls is ``skills.inference.tool_loop``; the built-in Python tool is
``skills.inference.python_tool``.

Tools (``Tool``): a class with ``name``, ``description``, ``parameters`` (JSON schema) and an async
``call``, or the reference's interface (``list_tools`` / ``execute``) for several functions in one
class. A spec is a registered name (``PythonTool``; ``EXTENSIONS = {"tool": {...}}`` in a
``$SKILLS_PLUGINS`` module), ``module::Class``, ``path/to/file.py::Class``, ``module:Class`` or
``module.Class``.
"""

from __future__ import annotations

import asyncio
import copy
import difflib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from typing import Any, Dict, List, Optional

from skills.config.errors import UsageError
from skills.registry import Registry

# settings every tool takes (the reference's MCP client settings of the same names)
COMMON_CONFIG: Dict[str, Any] = {
    "hide_args": {},  # {function name: [argument, ...]}: left out of the schema, dropped from calls
    "disabled_tools": [],  # functions not offered to the model
    "enabled_tools": [],  # if set, only these functions are offered (each must exist)
}


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


class Tool:
    """A tool the model may call. Subclass it and set ``name``, ``description``, ``parameters``
    (a JSON schema of the arguments object) and write ``async def call(self, arguments, request_id)``
    returning a string (sent to the model as it is) or anything JSON can write (sent as JSON).

    ``default_config()`` returns the tool's settings and their defaults; ``++tool_overrides.<Class>.<key>=V``
    changes them (unknown keys are refused), ``self.config`` holds the result. ``request_id`` is
    the same for every call made while generating one row (a tool with state per row keys it by
    ``request_id`` and forgets it in ``end_request``). A class exposing several functions overrides
    ``list_tools`` (``[{"name", "description", "input_schema"}]``) and ``execute(tool_name,
    arguments, extra_args)`` instead, as the reference's tools do.
    """

    name: str = ""
    description: str = ""
    parameters: Dict[str, Any] = {"type": "object", "properties": {}}

    def default_config(self) -> Dict[str, Any]:
        return {}

    def configure(self, overrides: Optional[Dict[str, Any]] = None, context: Optional[Dict[str, Any]] = None) -> None:
        """Settings: ``COMMON_CONFIG``, then ``default_config()``, then ``overrides``."""
        config = {**copy.deepcopy(COMMON_CONFIG), **self.default_config()}
        unknown = sorted(set(overrides or {}) - set(config))
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(config), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise UsageError(f"++tool_overrides.{type(self).__name__}.{unknown[0]}: unknown setting; {hint}"
                             f"{type(self).__name__} takes {', '.join(sorted(config))}")
        config.update(overrides or {})
        self.config = config
        self.context = dict(context or {})

    async def list_tools(self) -> List[Dict[str, Any]]:
        if not self.name:
            raise UsageError(f"tool {type(self).__name__} has no name (set name, description, parameters, or "
                             "override list_tools)")
        return [{"name": self.name, "description": self.description, "input_schema": copy.deepcopy(self.parameters)}]

    async def execute(self, tool_name: str, arguments: Dict[str, Any], extra_args: Optional[Dict[str, Any]] = None) -> Any:
        return await self.call(arguments, request_id=(extra_args or {}).get("request_id", ""))

    async def call(self, arguments: Dict[str, Any], request_id: str) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.call")

    async def end_request(self, request_id: str) -> None:
        """The row ``request_id`` is finished: drop what was kept for it."""

    async def shutdown(self) -> None:
        """Release what the tool started; called once at the end of the run."""


# ------------------------------------------------------------------------------------------------ specs
TOOLS: Registry[Any] = Registry("tool", builtins={"PythonTool": "skills.inference.python_tool:PythonTool"})

# reference spellings of its own tools
REFERENCE_PYTHON = ("nemo_skills.mcp.servers.python_tool::PythonTool", "nemo_skills.mcp.servers.python_tool.PythonTool")
NEEDS_INTERNET = re.compile(r"exa_tool(::|\.|:)(ExaTool|ExaMCPTool)$|^(ExaTool|ExaMCPTool)$")


def check_spec(spec: Any) -> None:
    """Refuse a spec that cannot name a tool (one line), without importing it."""
    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"++tool_modules: {spec!r} is not a tool spec (module::Class, path/to/file.py::Class "
                         "or a registered name such as PythonTool)")
    if NEEDS_INTERNET.search(spec):
        raise UsageError(f"++tool_modules: {spec} (the reference's Exa web search) needs the internet and an Exa "
                         "API key and is not provided here; write it as a user tool (docs/generation.md, Tool calling)")
    if "::" in spec:
        left, attr = spec.split("::", 1)
        if not left or not attr.isidentifier():
            raise UsageError(f"++tool_modules: '{spec}' must be module::Class or path/to/file.py::Class")


def _load_file(path: str, spec: str) -> Any:
    if not os.path.isfile(path):
        raise UsageError(f"++tool_modules: {spec}: file {path} not found")
    name = "skills_tool_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise UsageError(f"++tool_modules: {spec}: {path} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise UsageError(f"++tool_modules: {spec}: loading {path} failed: {type(exc).__name__}: {exc}") from None
    return module


def _import(module_name: str, spec: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"++tool_modules: {spec}: cannot import {module_name}: {exc}") from None
    except Exception as exc:
        raise UsageError(f"++tool_modules: {spec}: importing {module_name} failed: {type(exc).__name__}: {exc}") from None


def locate(spec: str) -> Any:
    """The class (or instance) a spec names; every failure is one line."""
    check_spec(spec)
    if spec in REFERENCE_PYTHON:
        return TOOLS.get("PythonTool")
    if "::" in spec:
        left, attr = spec.split("::", 1)
        module = _load_file(left, spec) if left.endswith(".py") or os.path.exists(left) else _import(left, spec)
    elif ":" in spec or "." in spec:
        module_name, _, attr = spec.rpartition(":") if ":" in spec else spec.rpartition(".")
        module = _import(module_name, spec)
    else:
        return TOOLS.get(spec)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UsageError(f"++tool_modules: {spec}: {getattr(module, '__name__', spec)} has no '{attr}'") from None


def instantiate(spec: str) -> Any:
    found = locate(spec)
    if inspect.isclass(found):
        try:
            found = found()
        except Exception as exc:
            raise UsageError(f"++tool_modules: {spec}: {found.__name__}() failed: {type(exc).__name__}: {exc}") from None
    if not (callable(getattr(found, "list_tools", None)) and callable(getattr(found, "execute", None))):
        raise UsageError(f"++tool_modules: {spec} is not a tool (subclass skills.inference.tools.Tool, or give "
                         "list_tools and execute)")
    return found


# ------------------------------------------------------------------------------------------------ the manager
class ToolManager:
    """The tools of a run: loaded from specs, configured from ``tool_overrides`` (keyed by class
    name), their functions listed once (names unique across tools) and calls routed by name."""

    def __init__(self, specs: List[str], overrides: Optional[Dict[str, Any]] = None,
                 context: Optional[Dict[str, Any]] = None):
        overrides = dict(overrides or {})
        self.tools: Dict[str, Any] = {}
        for spec in specs:
            tool = instantiate(spec)
            key = type(tool).__name__
            if key in self.tools:
                raise UsageError(f"++tool_modules: {key} is listed twice")
            own = overrides.get(key)
            if own is not None and not isinstance(own, dict):
                raise UsageError(f"++tool_overrides.{key} must be a mapping of settings, not {own!r}")
            if callable(getattr(tool, "configure", None)):
                try:
                    tool.configure(dict(own or {}), dict(context or {}))
                except UsageError:
                    raise
                except Exception as exc:
                    raise UsageError(f"++tool_overrides.{key}: {type(exc).__name__}: {exc}") from None
            self.tools[key] = tool
        unused = sorted(set(overrides) - set(self.tools))
        if unused:
            raise UsageError(f"++tool_overrides.{unused[0]} names no tool in tool_modules "
                             f"({', '.join(self.tools) or 'none'})")
        self._listed: Optional[List[Dict[str, Any]]] = None
        self._owner: Dict[str, str] = {}  # function name -> tool class name
        self._lock = asyncio.Lock()

    def _settings(self, key: str) -> Dict[str, Any]:
        config = getattr(self.tools[key], "config", None)
        return config if isinstance(config, dict) else {}

    async def list_all(self) -> List[Dict[str, Any]]:
        """Every function as ``{"name", "description", "input_schema"}`` (hidden arguments and
        schema titles removed, disabled functions left out), listed once per run."""
        async with self._lock:
            if self._listed is not None:
                return self._listed
            listed: List[Dict[str, Any]] = []
            for key, tool in self.tools.items():
                settings = self._settings(key)
                hide = settings.get("hide_args") or {}
                disabled, enabled = set(settings.get("disabled_tools") or []), set(settings.get("enabled_tools") or [])
                seen: set = set()
                for entry in await tool.list_tools() or []:
                    name = entry.get("name") if isinstance(entry, dict) else None
                    if not name or name in seen:
                        continue
                    seen.add(name)
                    if name in disabled or (enabled and name not in enabled):
                        continue
                    if name in self._owner:
                        raise UsageError(f"++tool_modules: function '{name}' is offered by both {self._owner[name]} "
                                         f"and {key}")
                    schema = copy.deepcopy(entry.get("input_schema") or {})
                    for arg in hide.get(name, []) or []:
                        (schema.get("properties") or {}).pop(arg, None)
                        if arg in (schema.get("required") or []):
                            schema["required"].remove(arg)
                    schema.pop("title", None)  # titles are for people, not models (as the reference)
                    for prop in (schema.get("properties") or {}).values():
                        if isinstance(prop, dict):
                            prop.pop("title", None)
                    self._owner[name] = key
                    listed.append({"name": name, "description": entry.get("description") or "",
                                   "input_schema": schema})
                missing = sorted(enabled - seen)
                if missing:
                    raise UsageError(f"++tool_overrides.{key}.enabled_tools: no function {', '.join(missing)} "
                                     f"(it has {', '.join(sorted(seen)) or 'none'})")
            self._listed = listed
            return listed

    async def request_tools(self, endpoint_type: str) -> List[Dict[str, Any]]:
        """The ``tools`` field of a request (chat completions, or the Responses API's shape)."""
        listed = await self.list_all()
        if endpoint_type == "responses":
            return [{"type": "function", "name": t["name"], "description": t["description"],
                     "parameters": t["input_schema"], "strict": True} for t in listed]
        return [{"type": "function", "function": {"name": t["name"], "description": t["description"],
                                                  "parameters": t["input_schema"]}} for t in listed]

    async def execute(self, name: str, arguments: Any, request_id: str) -> Any:
        """Run one call; KeyError for a function no tool offers."""
        key = self._owner[name]
        hidden = set((self._settings(key).get("hide_args") or {}).get(name, []) or [])
        if hidden and isinstance(arguments, dict):
            arguments = {k: v for k, v in arguments.items() if k not in hidden}
        return await self.tools[key].execute(name, arguments, extra_args={"request_id": request_id})

    async def end_request(self, request_id: str) -> None:
        for tool in self.tools.values():
            end = getattr(tool, "end_request", None)
            if callable(end):
                try:
                    await end(request_id)
                except Exception:
                    pass

    async def shutdown(self) -> None:
        for tool in self.tools.values():
            stop = getattr(tool, "shutdown", None)
            if callable(stop):
                try:
                    await stop()
                except Exception:
                    pass  # best effort, as the reference


# ------------------------------------------------------------------------------------------------ plan-time checks
def check_tool_settings(cfg: Any) -> None:
    """Cross-field checks of ``tool_modules`` / ``tool_overrides`` (planners and start-up): every
    spec names a loadable tool, every override a listed tool and a setting it has."""
    modules, overrides = cfg.tool_modules, cfg.tool_overrides
    if modules is None:
        if overrides:
            raise UsageError("++tool_overrides needs ++tool_modules=[...] (the tools they configure)")
        return
    if not isinstance(modules, (list, tuple)) or not modules:
        raise UsageError("++tool_modules must be a non-empty list, e.g. ++tool_modules=[PythonTool]")
    if cfg.tools:
        raise UsageError("++tools and ++tool_modules do not go together: with tool modules the tools are "
                         "the modules' (as the reference)")
    if cfg.inference.endpoint_type == "text":
        raise UsageError("++tool_modules needs chat messages (inference.endpoint_type chat or responses), "
                         "not endpoint_type=text")
    if not isinstance(overrides, dict):
        raise UsageError("++tool_overrides must be a mapping: ++tool_overrides.<ToolClass>.<setting>=VALUE")
    for spec in modules:
        check_spec(spec)
    for key, value in overrides.items():
        if not isinstance(value, dict):
            raise UsageError(f"++tool_overrides.{key} must be a mapping: ++tool_overrides.{key}.<setting>=VALUE")
    # every tool made and configured once (cheap: tools start what they need on their first call)
    ToolManager(list(modules), dict(overrides), {"sandbox": dict(cfg.sandbox or {})})
