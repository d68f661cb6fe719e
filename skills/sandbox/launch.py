"""Launch line and health URL of the sandbox service, for planners (``ns start_sandbox``,
``--with_sandbox`` sidecars, benchmarks with ``requires_sandbox``) locally and on Slurm.

Kept free of heavy imports: planners build the line without importing aiohttp.
"""

from __future__ import annotations

import shlex
from typing import Optional

from skills.config.errors import UsageError

DEFAULT_PORT = 6000


def build_sandbox_command(port: int, host: str = "127.0.0.1", workers: Optional[int] = None,
                          python: str = "python3", sandbox_python: Optional[str] = None,
                          prefix: str = "") -> str:
    """One shell line that starts the service. ``python`` has ``skills`` installed;
    ``sandbox_python`` (default: the same) runs the untrusted code, e.g. an env with numpy/scipy."""
    if not 0 < port < 65536:
        raise UsageError(f"invalid sandbox port {port}")
    if workers is not None and workers < 1:
        raise UsageError(f"sandbox workers must be at least 1, got {workers}")
    parts = [python, "-m", "skills.sandbox.server", "--port", str(port), "--host", shlex.quote(host)]
    if workers:
        parts += ["--workers", str(workers)]
    if sandbox_python:
        parts += ["--python", shlex.quote(sandbox_python)]
    line = " ".join(parts)
    return f"{prefix.strip()} {line}" if prefix.strip() else line


def sandbox_health_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/health"


def sandbox_url(host: str, port: int) -> str:
    """The value for ``$SKILLS_SANDBOX_URL``."""
    return f"http://{host}:{port}"
