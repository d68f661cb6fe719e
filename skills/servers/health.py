"""Wait until a server is healthy; fail with its log tail when it dies or never comes up.

A server that crashes while loading should not leave the user waiting for an hour: the process is
checked on every poll, and both failures name the log and show its last lines.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional, Union

TAIL_LINES = 30


class ServerStartError(RuntimeError):
    """The server process exited before becoming healthy, or did not become healthy in time."""


def log_tail(log_path: Optional[Union[str, Path]], lines: int = TAIL_LINES) -> str:
    if not log_path:
        return ""
    try:
        text = Path(log_path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _describe_log(log_path: Optional[Union[str, Path]]) -> str:
    if not log_path:
        return ""
    tail = log_tail(log_path)
    if not tail:
        return f" Its log {log_path} is empty."
    return f" Last lines of its log {log_path}:\n{tail}"


def is_healthy(url: str, timeout_s: float = 5.0) -> bool:
    """2xx; with ``?any_status=1`` (servers without a GET route) any answer below 500 counts."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return 200 <= resp.status < 300
    except urllib.error.HTTPError as exc:
        return "any_status=1" in url and exc.code < 500
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_for_server(
    url: str,
    timeout_s: float,
    process: Optional[subprocess.Popen] = None,
    log_path: Optional[Union[str, Path]] = None,
    poll_s: float = 1.0,
) -> None:
    """Poll ``url`` until it answers 2xx; raise ``ServerStartError`` on early exit or timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process is not None and process.poll() is not None:
            raise ServerStartError(
                f"The server process exited with code {process.returncode} before {url} became "
                f"healthy.{_describe_log(log_path)}"
            )
        if is_healthy(url, timeout_s=min(5.0, max(poll_s, 0.5))):
            return
        if time.monotonic() >= deadline:
            raise ServerStartError(
                f"The server did not become healthy at {url} within {timeout_s:g} s "
                f"(raise the timeout if the model is large or the machine is busy)."
                f"{_describe_log(log_path)}"
            )
        time.sleep(poll_s)
