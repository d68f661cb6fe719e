"""HTTP client of the sandbox service, with the local sandbox's ``execute`` signature.

``sandbox_from_env()`` picks the service when ``$SKILLS_SANDBOX_URL`` is set (a sidecar, a shared
service) and the in-process sandbox otherwise, so graders are written once.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from dataclasses import asdict
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import httpx

from skills.config.errors import UsageError
from skills.sandbox.types import ExecResult, Limits

URL_ENV = "SKILLS_SANDBOX_URL"
CONNECT_RETRIES = 5  # the service may be starting or restarting
QUEUE_TIMEOUT_S = 3600.0  # a request may wait behind others for a worker


class SandboxUnavailable(RuntimeError):
    """The service could not be reached; results would be meaningless, so graders should stop."""


class SandboxClient:
    """Thread-safe client: one connection pool shared by all threads."""

    def __init__(self, base_url: str, queue_timeout_s: float = QUEUE_TIMEOUT_S):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(timeout=httpx.Timeout(30.0, read=queue_timeout_s),
                                  limits=httpx.Limits(max_connections=None, max_keepalive_connections=64))

    def close(self) -> None:
        self._http.close()

    def health(self) -> Dict[str, Any]:
        return self._request("GET", "/health").json()

    def execute(self, code: str, *, stdin: Union[str, bytes, None] = None,
                files: Optional[Mapping[str, Union[str, bytes]]] = None, limits: Optional[Limits] = None,
                args: Sequence[str] = (), env: Optional[Mapping[str, str]] = None) -> ExecResult:
        payload = {
            "code": code,
            "stdin": stdin.decode() if isinstance(stdin, bytes) else stdin,
            "files": {name: {"base64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v
                      for name, v in (files or {}).items()},
            "limits": asdict(limits or Limits()),
            "args": list(args),
            "env": dict(env or {}),
        }
        return ExecResult.from_dict(self._request("POST", "/execute", json=payload).json())

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        for attempt in range(CONNECT_RETRIES):
            try:
                resp = self._http.request(method, self.base_url + path, **kwargs)
                break
            except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
                if attempt == CONNECT_RETRIES - 1:
                    raise SandboxUnavailable(f"sandbox service at {self.base_url} unreachable: {exc}") from exc
                time.sleep(0.5 * 2 ** attempt)
        if resp.status_code == 400:
            raise UsageError(f"sandbox service: {resp.json().get('error', resp.text)}")
        if resp.status_code == 413:
            raise UsageError(f"sandbox service: request too large ({resp.text[:200]})")
        if resp.status_code != 200:
            raise SandboxUnavailable(f"sandbox service at {self.base_url} answered {resp.status_code}: "
                                     f"{resp.text[:200]}")
        return resp


_clients: Dict[str, SandboxClient] = {}
_lock = threading.Lock()


def sandbox_from_env():
    """``SandboxClient($SKILLS_SANDBOX_URL)`` when set, else the process-wide local sandbox."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        from skills.sandbox import default_sandbox

        return default_sandbox()
    with _lock:
        if url not in _clients:
            _clients[url] = SandboxClient(url)
        return _clients[url]
