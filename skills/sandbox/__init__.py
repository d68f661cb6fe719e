"""Code sandbox for untrusted, model-written programs: a library and an HTTP service.

    from skills.sandbox import run_python, Limits
    result = run_python("print(input())", stdin="hi", limits=Limits(wall_s=5))

``get_sandbox()`` returns the HTTP client when ``$SKILLS_SANDBOX_URL`` is set and the local sandbox
otherwise, so graders need not care where the code runs. See docs/sandbox.md for what is isolated.
"""

from __future__ import annotations

import atexit
import threading
from typing import Optional, Sequence

from skills.sandbox.executor import Sandbox
from skills.sandbox.types import STATUSES, ExecResult, Limits

__all__ = ["ExecResult", "Limits", "STATUSES", "Sandbox", "default_sandbox", "get_sandbox",
           "run_command", "run_python"]

_default: Optional[Sandbox] = None
_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide local sandbox (``$SKILLS_SANDBOX_PYTHON``, ``$SKILLS_SANDBOX_WORKERS``)."""
    global _default
    with _lock:
        if _default is None:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default


def run_python(code: str, **kwargs) -> ExecResult:
    """``Sandbox.execute`` on the default sandbox: stdin, files, limits, args, env, python."""
    return default_sandbox().execute(code, **kwargs)


def run_command(argv: Sequence[str], **kwargs) -> ExecResult:
    return default_sandbox().run_command(argv, **kwargs)


def get_sandbox():
    """``SandboxClient($SKILLS_SANDBOX_URL)`` when set, else the local sandbox; both ``execute``."""
    from skills.sandbox.client import sandbox_from_env

    return sandbox_from_env()
