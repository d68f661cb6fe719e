"""``ns start_sandbox``: the code sandbox service on this machine until Ctrl-C (see docs/sandbox.md)."""

from __future__ import annotations

from typing import Optional

from skills.cli.options import CLUSTER_NO_MOUNTS, O, with_groups
from skills.config.errors import UsageError


@with_groups(cluster=CLUSTER_NO_MOUNTS)
def start_sandbox(
    port: int = O("port", "Port of the service.", default=6000),
    host: str = O("host", "Address to listen on (127.0.0.1: this machine only).", default="127.0.0.1"),
    workers: Optional[int] = O("workers", "Programs run at once (default: the cores)."),
    python: Optional[str] = O("python", "Interpreter for untrusted code (default: the cluster config's "
                                        "'sandbox' environment, else this one)."),
    max_wall_s: Optional[float] = O("max_wall_s", "Longest wall time one request may ask for, in seconds "
                                                  "(default 3600)."),
    cluster=None,
) -> int:
    """Serve POST /execute and GET /health; clients use $SKILLS_SANDBOX_URL=http://HOST:PORT."""
    if cluster.is_slurm:
        raise UsageError("start_sandbox runs on this machine; on Slurm jobs get the sandbox as a sidecar "
                         "(--with_sandbox)")
    if python is None:
        env = cluster.environment("sandbox")
        python = env.interpreter() if env is not None else None
    from skills.sandbox.server import main

    argv = ["--port", str(port), "--host", host]
    if workers is not None:
        argv += ["--workers", str(workers)]
    if python:
        argv += ["--python", python]
    if max_wall_s is not None:
        argv += ["--max_wall_s", str(max_wall_s)]
    return main(argv)
