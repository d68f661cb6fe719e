"""The built-in Python tool (``++tool_modules=[PythonTool]``): the reference's stateful Python tool
(``stateful_python_code_exec``), run in skills' sandbox.

Each row has its own ``PythonSession`` (``skills.inference.python_session``: IPython in the sandbox,
state kept by replay), the session code execution uses too; the call runs with the reference
sandbox's defaults for its tool (plain tracebacks, ``exec_timeout_s``, ``max_output_characters``).
The model reads the cell's stdout then stderr, each cut at ``max_output_characters``, without the
final newline; a sandbox service that cannot be reached is told to the model, as the reference.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Dict, Optional

from skills.config.errors import UsageError
from skills.inference.tools import Tool

# our wording (the reference's is in its tool server's source; ++tool_overrides.PythonTool.description
# sets any other)
PYTHON_DESCRIPTION = ("Run Python code in a stateful, notebook-like session: variables, functions and imports "
                      "persist from one call to the next. Returns what the code printed, the value of a last "
                      "expression, or the error; a run is stopped after {timeout} seconds.")
# the reference's MCP transport settings: they configure how it reaches its tool server, which
# does not exist here (the tool runs the sandbox directly)
MCP_SETTINGS = ("client", "client_params", "init_hook", "output_formatter")


def seconds_text(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class PythonTool(Tool):
    """The reference's stateful Python tool, one sandboxed Python session per row (``request_id``)."""

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
        self.sessions: Dict[str, Any] = {}  # request id -> PythonSession
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
        interpreter: the ``sandbox`` environment's, where IPython, numpy, sympy, scipy live)."""
        if self.sandbox is None:
            from skills.sandbox import get_sandbox

            self.sandbox = get_sandbox()
        return self.sandbox

    def session(self, request_id: str) -> Any:
        if request_id not in self.sessions:
            from skills.inference.python_session import PythonSession

            # the timeout as the reference's tool server passes it on (a float: "... after 10.0 seconds")
            self.sessions[request_id] = PythonSession(
                self._sandbox(), "ipython", float(self.config["exec_timeout_s"]),
                int(self.config["max_output_characters"]), "Plain", int(self.config["memory_mb"]))
        return self.sessions[request_id]

    async def execute_cell(self, code: str, request_id: str) -> Dict[str, str]:
        """``{"process_status", "stdout", "stderr"}`` of one cell in the row's session."""
        from skills.inference.client import ServerUnavailable

        async with self.locks[request_id]:
            try:
                return await self.session(request_id).run(code)
            except ServerUnavailable:
                return {"process_status": "fail", "stdout": "", "stderr": "Error connecting to sandbox"}

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
