"""``ns start_server``: host a model server on this machine until Ctrl-C."""

from __future__ import annotations

from typing import Optional

from skills.cli.common import require
from skills.cli.options import CLUSTER_NO_MOUNTS, O, with_groups
from skills.config.errors import UsageError


@with_groups(cluster=CLUSTER_NO_MOUNTS)
def start_server(
    model: Optional[str] = O("model", "(required)"),
    server_type: str = O("server_type", "vllm|sglang|trtllm.", default="vllm"),
    server_gpus: int = O("server_gpus", default=1),
    server_nodes: int = O("server_nodes", default=1),
    server_args: str = O("server_args", default=""),
    port: Optional[int] = O("port", "Port (default: 5000, or a free one if 5000 is taken)."),
    log_dir: Optional[str] = O("log_dir"),
    timeout: float = O("timeout", "Seconds to wait for the server to become healthy.", default=3600.0),
    cluster=None,
) -> int:
    """Host a model server on this machine until Ctrl-C."""
    require(model=model)
    from skills.pipeline.servers import HOSTED_TYPES

    if server_type not in HOSTED_TYPES:
        raise UsageError(f"--server_type must be one of {', '.join(HOSTED_TYPES)} to host a server")
    if cluster.is_slurm:
        raise UsageError("start_server on slurm is not supported yet")
    from pathlib import Path

    from skills.pipeline.state import state_dir
    from skills.servers.health import ServerStartError
    from skills.servers.launch import serve_forever

    env = cluster.server_env(server_type)
    log_path = (Path(log_dir) if log_dir else state_dir() / "server") / f"{server_type}-server.log"
    if timeout <= 0:
        raise UsageError(f"--timeout must be > 0 seconds, got {timeout}")
    log_path.unlink(missing_ok=True)  # its tail is shown on failure: only this start's lines
    if port is not None:
        from skills.servers.ports import port_is_free

        if not 1 <= port <= 65535:
            raise UsageError(f"--port must be in 1..65535, got {port}")
        if not port_is_free(port):  # clients will be pointed at the port you named: never move it
            raise UsageError(f"--port {port} is in use; pick another or leave --port out")
    try:
        return serve_forever(server_type, model, server_gpus, server_nodes, port or 5000, server_args,
                             env.command_prefix, env.interpreter(), log_path, env.env, timeout)
    except ServerStartError as exc:
        from skills.cli.common import print_error

        print_error(str(exc))
        return 1
