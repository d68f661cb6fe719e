"""Tool calling in the generation loop (``++tool_modules=[...]``, ``++tool_overrides.<Class>.<key>=...``),
as the reference's ``ToolCallingWrapper`` does it.

Each row's chat request goes out with the ``tools`` of every tool module; while the answer carries
``tool_calls``, the calls of one answer run together, the assistant message and one ``tool`` message
per call (in call order) are appended to the conversation, and the conversation is sent again. The
loop ends at an answer without tool calls, or when ``inference.tokens_to_generate`` (a budget for
the whole row: each answer's tokens are taken off it, and the next request asks for what is left)
is spent. The output line has the answers' texts joined as the generation, ``num_generated_tokens``
summed, ``finish_reason`` (and ``reasoning_content``, when any) as lists with one entry per
answer, ``num_tool_calls`` and the whole ``conversation``.

Tools (``Tool``): a class with ``name``, ``description``, ``parameters`` (JSON schema) and an async
``call``, or the reference's interface (``list_tools`` / ``execute``) for several functions in one
class. A spec is a registered name (``PythonTool``; ``EXTENSIONS = {"tool": {...}}`` in a
``$SKILLS_PLUGINS`` module), ``module::Class``, ``path/to/file.py::Class``, ``module:Class`` or
``module.Class``. ``PythonTool`` runs model-written code only in skills' sandbox
(``skills.sandbox.get_sandbox()``: the ``--with_sandbox`` service, else in this process's sandbox).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import difflib
import gzip
import importlib
import importlib.util
import inspect
import json
import os
import re
import secrets
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from skills.config.errors import UsageError
from skills.registry import Registry

DRIVER = Path(__file__).with_name("python_tool_driver.py")

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
TOOLS: Registry[Any] = Registry("tool", builtins={"PythonTool": "skills.inference.tools:PythonTool"})

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


# ------------------------------------------------------------------------------------------------ the loop
def manager_of(task: Any) -> ToolManager:
    """The task's tools, made on the first row (the same for every row of the run)."""
    manager = getattr(task, "_tool_manager", None)
    if manager is None:
        cfg = task.cfg
        manager = task._tool_manager = ToolManager(list(cfg.tool_modules), dict(cfg.tool_overrides or {}),
                                                   {"sandbox": dict(cfg.sandbox or {})})
    return manager


def tool_message(call: Dict[str, Any], result: Any, endpoint_type: str) -> Dict[str, Any]:
    """What goes back to the model for one call: text as it is, anything else as JSON."""
    content = result if isinstance(result, str) else json.dumps(result, default=str)
    if endpoint_type == "responses":
        return {"type": "function_call_output", "call_id": call.get("call_id"), "output": content}
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    return {"role": "tool", "name": function.get("name"), "tool_call_id": call.get("id"), "content": content}


def call_details(call: Any, endpoint_type: str) -> Tuple[Any, Any]:
    if not isinstance(call, dict):
        return None, None
    if endpoint_type == "responses":
        return call.get("name"), call.get("arguments")
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    return function.get("name"), function.get("arguments")


async def run_call(manager: ToolManager, call: Any, request_id: str, endpoint_type: str) -> Any:
    """One call's result; a call that cannot be parsed or fails says so to the model (as the reference)."""
    name, arguments = call_details(call, endpoint_type)
    try:
        arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
        if arguments is None:
            raise ValueError("no arguments")
    except ValueError:
        log(f"tool call arguments are not JSON: {str(arguments)[:200]}")
        return {"error": "Tool argument parsing failed."}
    try:
        return await manager.execute(name, arguments, request_id)
    except UsageError:
        raise  # a setting is wrong: the run stops with one line
    except Exception as exc:
        log(f"tool call {name!r} failed: {type(exc).__name__}: {str(exc)[:200]}")
        return {"error": "Tool execution failed."}


def assistant_items(comp: Any, endpoint_type: str) -> List[Dict[str, Any]]:
    """The answer as it goes back into the conversation."""
    calls = comp.extra.get("tool_calls") or []
    if endpoint_type == "responses":
        items: List[Dict[str, Any]] = [{"role": "assistant", "content": comp.text}] if comp.text else []
        return items + [dict(c) for c in calls if isinstance(c, dict)]
    message: Dict[str, Any] = {"role": "assistant", "content": comp.text or (None if calls else "")}
    if comp.extra.get("reasoning_content"):
        message["reasoning_content"] = comp.extra["reasoning_content"]
    if calls:
        message["tool_calls"] = calls
    return [message]


async def process_with_tools(task: Any, row: Dict[str, Any], request: Any, client: Any,
                             cut_at_stop: Callable[[str, List[str], bool], str]) -> Dict[str, Any]:
    """One row's conversation with tools (see the module docstring); the output line. ``cut_at_stop``
    is the task's stop-phrase rule (``skills.inference.task.cut_at_stop``), applied to each answer."""
    from skills.inference.reasoning import apply_reasoning

    cfg = task.cfg
    endpoint_type = cfg.inference.endpoint_type
    manager = manager_of(task)
    tools = await manager.request_tools(endpoint_type)
    stops = list(cfg.inference.stop) + ([cfg.stop_phrase] if cfg.stop_phrase else [])
    conversation = copy.deepcopy(request)
    request_id = str(uuid.uuid4())
    budget = cfg.inference.tokens_to_generate
    texts: List[str] = []
    tokens = 0
    reasoning: List[Any] = []
    finish: List[str] = []
    num_calls = 0
    start = time.time()
    try:
        while budget is None or budget > 0:
            step_cfg = cfg if budget == cfg.inference.tokens_to_generate else \
                dataclasses.replace(cfg, inference=dataclasses.replace(cfg.inference, tokens_to_generate=budget))
            comp = await client.complete(step_cfg, messages=conversation, tools=tools)
            used = comp.num_generated_tokens or 0
            if budget is not None:
                budget -= used
            texts.append(cut_at_stop(comp.text, stops, cfg.keep_stop_phrase))
            tokens += used
            if comp.extra.get("reasoning_content"):
                reasoning.append(comp.extra["reasoning_content"])
            if comp.finish_reason:
                finish.append(comp.finish_reason)
            conversation.extend(assistant_items(comp, endpoint_type))
            calls = comp.extra.get("tool_calls") or []
            if not calls:
                break
            results = await asyncio.gather(*(run_call(manager, c, request_id, endpoint_type) for c in calls))
            conversation.extend(tool_message(c if isinstance(c, dict) else {}, r, endpoint_type)
                                for c, r in zip(calls, results))
            num_calls += len(calls)
    finally:
        await manager.end_request(request_id)
    end = time.time()
    key = cfg.generation_key
    out: Dict[str, Any] = {key: "".join(texts), "num_generated_tokens": tokens}
    if reasoning:
        out["reasoning_content"] = reasoning
    out.update(finish_reason=finish, num_tool_calls=num_calls, conversation=conversation)
    if cfg.parse_reasoning:
        apply_reasoning(out, key, cfg.end_reasoning_string, cfg.trust_server_reasoning)
    if cfg.add_generation_stats:
        out.update(generation_start_time=start, generation_end_time=end, generation_time=end - start)
    else:
        out.pop("num_generated_tokens")
    for k, v in row.items():
        if k not in out:
            out[k] = v
    return out


def close_tools(task: Any) -> None:
    """Shut the run's tools down (from ``GenerationTask.close``, after the requests' event loop)."""
    manager = getattr(task, "_tool_manager", None)
    if manager is not None:
        task._tool_manager = None
        try:
            asyncio.run(manager.shutdown())
        except RuntimeError:
            pass  # called inside a running loop: the process is ending anyway


# ------------------------------------------------------------------------------------------------ the Python tool
# our wording (the reference's is in its tool server's source; ++tool_overrides.PythonTool.description
# sets any other)
PYTHON_DESCRIPTION = ("Run Python code in a stateful, notebook-like session: variables, functions and imports "
                      "persist from one call to the next. Returns what the code printed, the value of a last "
                      "expression, or the error; a run is stopped after {timeout} seconds.")
_ANSI = re.compile(r"\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])")
_OUT_PROMPT = re.compile(r"^Out\[\d+\]:\s*")
# the reference's MCP transport settings: they configure how it reaches its tool server, which
# does not exist here (the tool runs the sandbox directly)
MCP_SETTINGS = ("client", "client_params", "init_hook", "output_formatter")


def shell_text(text: str) -> str:
    """A stream as the reference's sandbox returns it (plain tracebacks): escape sequences and
    ``File <ipython-...`` lines removed, ``Out[n]:`` prompts dropped, leading empty lines and
    trailing white space removed, one final newline."""
    lines = [_OUT_PROMPT.sub("", line) for line in _ANSI.sub("", text).split("\n")
             if not line.strip().startswith("File <ipython-")]
    while lines and lines[0] == "":
        lines.pop(0)
    text = "\n".join(lines).rstrip()
    return text + ("\n" if text else "")


def seconds_text(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def cut(text: str, limit: int) -> str:
    return text[:limit] + "<output cut>" if len(text) > limit else text


class PythonTool(Tool):
    """The reference's stateful Python tool (``stateful_python_code_exec``), run in skills' sandbox.

    Each row has its own session: the cells it ran before are replayed (their output discarded)
    ahead of the new one, in a fresh sandboxed process, as the reference rebuilds a session whose
    worker restarted. A cell that timed out is not kept and, as the restart the reference's shell
    then goes through, the cells that ended in an error are dropped too. The model sees the cell's
    stdout then stderr, each cut at ``max_output_characters``, without the final newline.
    """

    name = "stateful_python_code_exec"
    description = PYTHON_DESCRIPTION
    parameters = {
        "properties": {
            "code": {"description": "The Python code to run", "title": "Code", "type": "string"},
            "session_id": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None,
                           "description": "Which session to run the code in", "title": "Session Id"},
            "timeout": {"default": 10, "description": "Seconds the code may run", "title": "Timeout",
                        "type": "number"},
        },
        "required": ["code"],
        "title": "stateful_python_code_execArguments",
        "type": "object",
    }

    def __init__(self) -> None:
        self.sessions: Dict[str, List[Dict[str, str]]] = defaultdict(list)  # request id -> cells kept
        self.locks: Dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.sandbox: Any = None

    def default_config(self) -> Dict[str, Any]:
        return {"hide_args": {self.name: ["session_id", "timeout"]}, "exec_timeout_s": 10,
                "max_output_characters": 1000, "memory_mb": 2048, "description": None}

    def configure(self, overrides: Optional[Dict[str, Any]] = None, context: Optional[Dict[str, Any]] = None) -> None:
        mcp = sorted(set(overrides or {}) & set(MCP_SETTINGS))
        if mcp:
            raise UsageError(f"++tool_overrides.PythonTool.{mcp[0]}: the reference's MCP client settings do not apply: "
                             "the Python tool runs code in skills' sandbox (--with_sandbox or $SKILLS_SANDBOX_URL)")
        super().configure(overrides, context)
        for key in ("exec_timeout_s", "max_output_characters", "memory_mb"):
            value = self.config[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise UsageError(f"++tool_overrides.PythonTool.{key} must be a positive number, not {value!r}")
        description = self.config["description"]
        if description is not None and not isinstance(description, str):
            raise UsageError(f"++tool_overrides.PythonTool.description must be text, not {description!r}")
        self.description = description if description is not None else \
            PYTHON_DESCRIPTION.format(timeout=seconds_text(self.config["exec_timeout_s"]))

    def _sandbox(self) -> Any:
        """The service when ``$SKILLS_SANDBOX_URL`` names one, else this process's sandbox (its
        interpreter: the ``sandbox`` environment's, where numpy, sympy, scipy live)."""
        if self.sandbox is None:
            from skills.sandbox import get_sandbox

            self.sandbox = get_sandbox()
        return self.sandbox

    def _run(self, job: Dict[str, Any], wall_s: float) -> Tuple[Any, Optional[Dict[str, Any]]]:
        from skills.sandbox import Limits

        sandbox = self._sandbox()
        nonce = secrets.token_hex(16)
        payload = {"job.json.gz": gzip.compress(json.dumps({**job, "nonce": nonce}).encode())}
        limits = Limits(wall_s=min(wall_s, 3600.0), cpu_s=None, memory_mb=int(self.config["memory_mb"]))
        result = sandbox.execute(DRIVER.read_text(encoding="utf-8"), files=payload, limits=limits)
        for line in reversed(result.stdout.splitlines()):
            if line.startswith(nonce):
                return result, json.loads(line[len(nonce):])
        return result, None

    async def execute_cell(self, code: str, request_id: str) -> Dict[str, str]:
        """``{"process_status", "stdout", "stderr"}`` of one cell in the row's session."""
        from skills.sandbox.client import SandboxUnavailable

        timeout = self.config["exec_timeout_s"]
        keep = int(self.config["max_output_characters"]) * 4 + 4096  # enough to clean up, then cut
        async with self.locks[request_id]:
            history = self.sessions[request_id]
            job = {"history": history, "code": code, "timeout": timeout, "keep": keep}
            try:
                result, verdict = await asyncio.to_thread(self._run, job, float(timeout) * (len(history) + 1) + 10)
            except SandboxUnavailable:
                return {"process_status": "fail", "stdout": "", "stderr": "Error connecting to sandbox"}
            if verdict is None:  # the sandbox stopped the driver (wall clock, memory)
                seconds = seconds_text(timeout)
                status, stdout = "timeout", ""
                stderr = f"Execution timed out after {seconds} seconds\n" if result.status == "timeout" else \
                    f"The execution was stopped by the sandbox ({result.status})\n"
            elif verdict["status"] == "replay_failed":
                self.sessions[request_id] = []
                return {"process_status": "error", "stdout": "",
                        "stderr": "RuntimeError: the session's earlier cells could not be run again, so its state is "
                                  "lost; run the last code again without relying on earlier cells.\n"}
            else:
                status, stdout, stderr = verdict["status"], verdict["stdout"], verdict["stderr"]
            if status in ("completed", "error"):
                history.append({"code": code, "status": status})
            else:  # a timeout restarts the shell: only completed cells are rebuilt
                self.sessions[request_id] = [c for c in history if c["status"] == "completed"]
        limit = int(self.config["max_output_characters"])
        return {"process_status": status, "stdout": cut(shell_text(stdout), limit),
                "stderr": cut(shell_text(stderr), limit)}

    async def call(self, arguments: Dict[str, Any], request_id: str) -> str:
        code = arguments.get("code") if isinstance(arguments, dict) else None
        if not isinstance(code, str):
            raise ValueError("stateful_python_code_exec needs a 'code' string")
        output = await self.execute_cell(code, request_id)
        text = f"{output['stdout']}{output['stderr']}"
        return text[:-1] if text.endswith("\n") else text

    async def end_request(self, request_id: str) -> None:
        self.sessions.pop(request_id, None)
        self.locks.pop(request_id, None)
