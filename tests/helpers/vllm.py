"""vLLM on the CPU for the tests: its settings, a cluster config that runs it, and servers shared by
the tests of a session.

Starting vLLM costs one to three minutes of both cores here, so the end-to-end tests that only need
*a* server with a given model (not the server's lifecycle inside a job) share one: ``SharedServers``
starts it at first use and stops it after the last test that asked for it (``tests/conftest.py``
runs those tests as one block at the end of the session and calls ``release``). Tests about in-job
servers (started, waited for and stopped by ``ns eval``) keep starting their own.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Optional, Set, Tuple

import pytest

# CPU-only vLLM: small KV cache, no hub access, f32 (bf16 is slow without AMX), no torch.compile.
VLLM_CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1"}


def cpu_server_args(max_model_len: int = 2048) -> str:
    """``--server_args`` for vLLM on the CPU."""
    return f"--dtype float32 --max-model-len {max_model_len} --enforce-eager"


VLLM_CPU_ARGS = cpu_server_args()


def cpu_cluster_yaml(tmp_path: Path, vllm_python: Path, executor: str = "local", extra: str = "") -> Path:
    """A cluster config whose vllm server type runs from the separate server venv on the CPU."""
    env = "\n".join(f'      {k}: "{v}"' for k, v in VLLM_CPU_ENV.items())
    path = tmp_path / "cpu.yaml"
    path.write_text(f"executor: {executor}\n{extra}servers:\n  vllm:\n    python: {vllm_python}\n    env:\n{env}\n")
    return path


@dataclass(frozen=True)
class SharedServer:
    """A running server as the tests use it: ``ns ... --server_type=vllm --server_address=URL --model=MODEL``."""

    base_url: str  # http://127.0.0.1:PORT/v1
    model: str  # the served name: the model's path
    log_path: Path

    def address_args(self) -> Tuple[str, ...]:
        """The ``ns generate`` / ``ns eval`` options that use this server."""
        return ("--server_type=vllm", f"--server_address={self.base_url}", f"--model={self.model}")


SHARED_SERVER_FIXTURES: Set[str] = set()


def shared_server(func: Callable) -> Callable:
    """Declare a session fixture that returns ``SharedServers.get(<its name>, ...)``: its tests run as
    one block and the server stops after the last of them (tests/conftest.py)."""
    SHARED_SERVER_FIXTURES.add(func.__name__)
    return pytest.fixture(scope="session")(func)


def server_of(item: pytest.Item) -> Optional[str]:
    """The shared server fixture a test uses, if any."""
    return next((name for name in item.fixturenames if name in SHARED_SERVER_FIXTURES), None)


class SharedServers:
    """One vLLM server per (fixture name, model, arguments), started lazily, stopped on ``release``."""

    def __init__(self, python: Path, log_dir: Path, timeout_s: float):
        self.python, self.log_dir, self.timeout_s = python, log_dir, timeout_s
        self._running: Dict[str, Tuple[Tuple[str, str], object]] = {}

    def get(self, name: str, model: Path, server_args: str) -> SharedServer:
        from skills.servers.launch import launch

        key = (str(model), server_args)
        if name in self._running and self._running[name][0] != key:
            self.release(name)
        if name not in self._running:
            log_path = self.log_dir / f"{name}.log"
            server = launch("vllm", str(model), gpus=1, server_args=server_args, python=str(self.python),
                            log_path=log_path, env=VLLM_CPU_ENV, timeout_s=self.timeout_s)
            print(f"\n[{name}] vLLM on {model} ready at {server.base_url} (log {log_path})", file=sys.stderr)
            self._running[name] = (key, server)
        server = self._running[name][1]
        return SharedServer(server.base_url, server.model, server.log_path)

    def release(self, name: str) -> None:
        entry: Optional[tuple] = self._running.pop(name, None)
        if entry is not None:
            entry[1].stop()
            print(f"\n[{name}] stopped", file=sys.stderr)

    def release_all(self) -> None:
        for name in list(self._running):
            self.release(name)
