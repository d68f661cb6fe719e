"""Exact launch lines for the model servers (vllm, sglang, trtllm) and their health URLs.

The lines mirror what the reference tool runs inside a job, so ``--dry_run`` output can be
compared with it: the served model name equals the model path (that is what clients send), and
``server_args`` are appended verbatim because users write them as a shell fragment.
"""

from __future__ import annotations

import shlex
from typing import Optional

from skills.config.errors import UsageError

SERVER_TYPES = ("vllm", "sglang", "trtllm", "megatron", "generic")
ANY_STATUS = "?any_status=1"  # health URLs of servers without a GET route: any HTTP answer means up


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
    entrypoint: Optional[str] = None,
    slurm: bool = False,
) -> str:
    """One shell line that starts the server on this node.

    ``prefix`` is the environment set-up from the cluster config (``source venv/bin/activate &&``,
    exports, ...); ``python`` is the interpreter that has the server package; ``host`` the address
    it listens on (the reference's 0.0.0.0 unless given; planners pass the cluster config's
    ``server_host``, which keeps local runs on 127.0.0.1). ``entrypoint`` (``--server_entrypoint``)
    replaces the launcher and gets the reference's wrapper arguments ``--model --num_gpus
    --num_nodes --port``; ``generic`` servers need one.
    """
    if gpus < 0 or nodes < 1:
        raise UsageError(f"invalid server size: gpus={gpus}, nodes={nodes}")
    tp = max(gpus, 1) * nodes
    m = shlex.quote(model)
    if server_type == "megatron":
        return _join(prefix, _megatron(m, port, gpus, nodes, entrypoint, slurm), server_args)
    if entrypoint or server_type == "generic":
        if not entrypoint:
            raise UsageError("--server_type=generic needs --server_entrypoint (the command that starts the server)")
        runner = f"{python} {entrypoint}" if entrypoint.startswith("-m ") else entrypoint
        return _join(prefix, f"{runner} --model {m} --num_gpus {gpus} --num_nodes {nodes} --port {port}", server_args)
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


def _megatron(model: str, port: int, gpus: int, nodes: int, entrypoint: Optional[str], slurm: bool) -> str:
    """Megatron-LM's text generation server from ``$MEGATRON_PATH`` (default /opt/Megatron-LM), as the
    reference starts it: torchrun over the node's GPUs locally, one task per GPU on Slurm; TP=gpus, PP=nodes."""
    runner = "python" if slurm else f"torchrun --nproc_per_node {max(gpus, 1)}"
    script = entrypoint or "tools/run_text_generation_server.py"
    return ('export PYTHONPATH=$PYTHONPATH:"${MEGATRON_PATH:-/opt/Megatron-LM}" && export CUDA_DEVICE_MAX_CONNECTIONS=1 '
            f'&& cd "${{MEGATRON_PATH:-/opt/Megatron-LM}}" && {runner} {script} --load {model} '
            f"--tensor-model-parallel-size {max(gpus, 1)} --pipeline-model-parallel-size {nodes} "
            f"--use-checkpoint-args --max-tokens-to-oom 12000000 --port {port} --micro-batch-size 1")


def health_url(server_type: str, host: str, port: int) -> str:
    """URL that answers once the server can take requests (2xx; any answer for megatron)."""
    if server_type in ("vllm", "sglang", "trtllm"):
        return f"http://{host}:{port}/health"
    if server_type == "megatron":
        return f"http://{host}:{port}/{ANY_STATUS}"
    return f"http://{host}:{port}/v1/models"


def client_base_url(server_type: str, host: str, port: int) -> str:
    """What the generation program calls: Megatron's server has no /v1 prefix (as in the reference)."""
    return f"http://{host}:{port}" + ("" if server_type == "megatron" else "/v1")
