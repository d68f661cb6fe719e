"""Exact launch lines for the model servers (vllm, sglang, trtllm) and their health URLs.

The lines mirror what the reference tool runs inside a job, so ``--dry_run`` output can be
compared with it: the served model name equals the model path (that is what clients send), and
``server_args`` are appended verbatim because users write them as a shell fragment.
"""

from __future__ import annotations

import shlex

from skills.config.errors import UsageError

SERVER_TYPES = ("vllm", "sglang", "trtllm")


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def build_server_command(
    server_type: str,
    model: str,
    port: int,
    gpus: int,
    nodes: int = 1,
    server_args: str = "",
    python: str = "python3",
    prefix: str = "",
    host: str = "0.0.0.0",
) -> str:
    """One shell line that starts the server on this node.

    ``prefix`` is the environment set-up from the cluster config (``source venv/bin/activate &&``,
    exports, ...); ``python`` is the interpreter that has the server package; ``host`` the address
    it listens on (the reference's 0.0.0.0 unless given; planners pass the cluster config's
    ``server_host``, which keeps local runs on 127.0.0.1).
    """
    if gpus < 0 or nodes < 1:
        raise UsageError(f"invalid server size: gpus={gpus}, nodes={nodes}")
    tp = max(gpus, 1) * nodes
    m = shlex.quote(model)
    if server_type == "vllm":
        cmd = (
            f"{python} -m vllm.entrypoints.openai.api_server --model {m} --served-model-name {m} "
            f"--trust-remote-code --host {host} --port {port} --tensor-parallel-size {tp}"
        )
    elif server_type == "sglang":
        cmd = (
            f"{python} -m sglang.launch_server --model-path {m} --served-model-name {m} "
            f"--trust-remote-code --host {host} --port {port} --tp {tp}"
        )
        if nodes > 1:
            cmd += (
                f" --nnodes {nodes} --node-rank $SLURM_PROCID"
                ' --dist-init-addr "$SLURM_MASTER_NODE:20000"'
            )
    elif server_type == "trtllm":
        cmd = f"trtllm-serve {m} --host {host} --port {port} --tp_size {tp}"
        if nodes > 1:
            # Multi-node: Slurm starts one task per GPU; each joins the MPI world as one rank.
            cmd = f"mpirun -n 1 --oversubscribe --allow-run-as-root {cmd}"
    else:
        raise UsageError(
            f"unknown server type '{server_type}' (hosted servers: {', '.join(SERVER_TYPES)})"
        )
    return _join(prefix, cmd, server_args)


def health_url(server_type: str, host: str, port: int) -> str:
    """URL that answers 200 once the server can take requests."""
    if server_type in SERVER_TYPES:
        return f"http://{host}:{port}/health"
    return f"http://{host}:{port}/v1/models"
