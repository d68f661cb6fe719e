"""HTTP client of the sandbox service, with the local sandbox's ``execute`` signature.

``sandbox_from_env()`` picks the service when ``$SKILLS_SANDBOX_URL`` is set (a sidecar, a shared
service) and the in-process sandbox otherwise, so graders are written once.

The standard library's ``http.client`` over kept-alive connections: a request costs a fraction of a
millisecond of the caller's CPU, next to an execution of ten or more (a general-purpose client
spent about 1 ms).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import threading
import time
import urllib.parse
from dataclasses import asdict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from skills.config.errors import UsageError
from skills.sandbox.types import ExecResult, Limits

URL_ENV = "SKILLS_SANDBOX_URL"
CONNECT_RETRIES = 5  # the service may be starting or restarting
CONNECT_TIMEOUT_S = 30.0
QUEUE_TIMEOUT_S = 3600.0  # a request may wait behind others for a worker
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class SandboxUnavailable(RuntimeError):
    """The service could not be reached; results would be meaningless, so graders should stop."""


class SandboxClient:
    """Thread-safe client: idle connections are shared by all threads, one request at a time each."""

    def __init__(self, base_url: str, queue_timeout_s: float = QUEUE_TIMEOUT_S):
        self.base_url = base_url.rstrip("/")
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"sandbox service URL must be http(s)://host:port, got {base_url!r}")
        self._connection = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._host, self._port, self._prefix = parts.hostname, parts.port, parts.path.rstrip("/")
        self._queue_timeout_s = queue_timeout_s
        self._idle: List[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def health(self) -> Dict[str, Any]:
        return self._request("GET", "/health")

    def execute(self, code: str, *, stdin: Union[str, bytes, None] = None,
                files: Optional[Mapping[str, Union[str, bytes]]] = None, limits: Optional[Limits] = None,
                args: Sequence[str] = (), env: Optional[Mapping[str, str]] = None,
                read_only: Sequence[str] = ()) -> ExecResult:
        payload = {
            "code": code,
            "stdin": stdin.decode() if isinstance(stdin, bytes) else stdin,
            "files": {name: {"base64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v
                      for name, v in (files or {}).items()},
            "limits": asdict(limits or Limits()),
            "args": list(args),
            "env": dict(env or {}),
        }
        if read_only:  # older services reject unknown fields
            payload["read_only"] = list(read_only)
        return ExecResult.from_dict(self._request("POST", "/execute", json.dumps(payload).encode()))

    def _take(self) -> Tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._connection(self._host, self._port, timeout=CONNECT_TIMEOUT_S), False

    def _send(self, method: str, path: str, body: Optional[bytes]) -> Tuple[int, bytes]:
        last: Optional[BaseException] = None
        attempt = 0
        while attempt < CONNECT_RETRIES:
            conn, reused = self._take()
            try:
                if conn.sock is None:
                    conn.connect()
                    conn.sock.settimeout(self._queue_timeout_s)  # the answer may wait for a worker
                conn.request(method, self._prefix + path, body=body, headers=_HEADERS)
                response = conn.getresponse()
                data = response.read()
            except TimeoutError:
                conn.close()
                raise SandboxUnavailable(f"sandbox service at {self.base_url} did not answer in time") from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                last = exc
                if not reused:  # a kept-alive connection the service closed: at once on a new one
                    attempt += 1
                    if attempt < CONNECT_RETRIES:
                        time.sleep(0.5 * 2 ** (attempt - 1))
                continue
            if response.will_close:
                conn.close()
            else:
                with self._lock:
                    self._idle.append(conn)
            return response.status, data
        raise SandboxUnavailable(f"sandbox service at {self.base_url} unreachable: {last}") from last

    def _request(self, method: str, path: str, body: Optional[bytes] = None) -> Dict[str, Any]:
        status, data = self._send(method, path, body)
        if status == 413:
            raise UsageError(f"sandbox service: request too large ({data[:200].decode(errors='replace')})")
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        if status == 400:
            error = answer.get("error") if isinstance(answer, dict) else None
            raise UsageError(f"sandbox service: {error or data[:200].decode(errors='replace')}")
        if status != 200 or not isinstance(answer, dict):
            raise SandboxUnavailable(f"sandbox service at {self.base_url} answered {status}: "
                                     f"{data[:200].decode(errors='replace')}")
        return answer


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
