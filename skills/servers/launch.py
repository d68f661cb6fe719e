"""Start and stop model servers on this machine (``ns start_server``, local executor, tests).

Servers run in their own process group: vLLM and friends spawn engine workers, and stopping only
the parent would leave them holding memory and the port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Optional, Union

from skills.config.errors import UsageError
from skills.config.secrets import move_secret_server_args, redact
from skills.servers.guard import guarded
from skills.servers.commands import build_server_command, health_url
from skills.servers.health import ServerStartError, wait_for_server
from skills.servers.ports import find_free_port
from skills.servers.spec import ServerSpec

PathLike = Union[str, Path]


@dataclass
class RunningServer:
    """A healthy server started by ``launch``."""

    process: subprocess.Popen
    server_type: str
    model: str
    host: str
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def stop(self) -> None:
        stop_server(self.process)


def start_server(
    spec_or_command: Union[ServerSpec, str],
    log_path: PathLike,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[PathLike] = None,
) -> subprocess.Popen:
    """Run the launch line under bash in a new process group; stdout+stderr go to ``log_path``."""
    if isinstance(spec_or_command, ServerSpec):
        command, extra_env = spec_or_command.command, dict(spec_or_command.env)
        # secrets by name: the server reads e.g. VLLM_API_KEY, the launcher holds the value under its own name
        extra_env.update({var: os.environ[name] for var, name in spec_or_command.secret_env.items()
                          if name in os.environ})
    else:
        command, extra_env = spec_or_command, {}
    full_env: Dict[str, str] = {**os.environ, **extra_env, **(env or {})}
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"+ {redact(command)}\n".encode())
        log.flush()
        return subprocess.Popen(  # its own group, which dies with the launcher (see guard.py)
            guarded(["bash", "-c", command]), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=full_env, cwd=cwd, start_new_session=True,
        )


def stop_server(proc: subprocess.Popen, grace_s: float = 20.0) -> Optional[int]:
    """SIGTERM the whole process group, then SIGKILL it if it is still there after ``grace_s``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace_s)
            if sig == signal.SIGTERM:
                # Leader is gone; make sure no worker of the group survives it.
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            break
        except subprocess.TimeoutExpired:
            continue
    return proc.poll()


def launch(
    server_type: str,
    model: str,
    gpus: int = 1,
    nodes: int = 1,
    port: Optional[int] = None,
    server_args: str = "",
    prefix: str = "",
    python: str = "python3",
    log_path: Optional[PathLike] = None,
    env: Optional[Mapping[str, str]] = None,
    host: str = "127.0.0.1",
    timeout_s: float = 3600.0,
) -> RunningServer:
    """Build the launch line, start it and wait until healthy (stopping it again on failure)."""
    if nodes > 1:
        raise UsageError(f"--server_nodes={nodes}: a server started here runs on this machine only; a server "
                         "over several nodes runs inside Slurm jobs (ns eval / ns generate --cluster=<slurm config>)")
    port = find_free_port(host, preferred=port)
    if log_path is None:
        log_path = Path(tempfile.mkdtemp(prefix="skills-server-")) / "server.log"
    # secrets in the arguments reach the server by environment (or "$NAME"), not on its command line
    server_args, secret_env, _ = move_secret_server_args(server_args, server_type, "SKILLS_SERVER_ARGS")
    env = {**(env or {}), **{var: os.environ[name] for var, name in secret_env.items()}}
    command = build_server_command(server_type, model, port, gpus, nodes, server_args, python, prefix, host)
    proc = start_server(command, log_path, env=env)
    try:
        wait_for_server(health_url(server_type, host, port), timeout_s, proc, log_path)
    except BaseException:
        stop_server(proc)
        raise
    return RunningServer(proc, server_type, model, host, port, Path(log_path))


def serve_forever(
    server_type: str,
    model: str,
    gpus: int = 1,
    nodes: int = 1,
    port: Optional[int] = None,
    server_args: str = "",
    prefix: str = "",
    python: str = "python3",
    log_path: Optional[PathLike] = None,
    env: Optional[Mapping[str, str]] = None,
    timeout_s: float = 3600.0,
) -> int:
    """``ns start_server``: start, wait healthy, print the URL, block until Ctrl-C, then stop."""
    server = launch(server_type, model, gpus, nodes, port, server_args, prefix, python,
                    log_path, env, timeout_s=timeout_s)
    print(f"Server ready: {server.base_url} (model '{model}', log {server.log_path}). "
          "Press Ctrl-C to stop.", flush=True)
    try:
        code = server.process.wait()
    except KeyboardInterrupt:
        print("Stopping the server...", file=sys.stderr, flush=True)
        server.stop()
        return 0
    raise ServerStartError(f"The server exited with code {code}; see {server.log_path}.")
