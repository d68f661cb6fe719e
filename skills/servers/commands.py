"""Exact launch lines for the model servers (vllm, sglang, trtllm) and their health URLs.

The lines mirror what the reference tool runs inside a job, so ``--dry_run`` output can be
compared with it: the served model name equals the model path (that is what clients send), and
``server_args`` are appended verbatim because users write them as a shell fragment.
"""

from __future__ import annotations

import os
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
    """The shell line that starts the server on this node (each node of a multi-node server runs it).

    Over several ``nodes`` (Slurm, one task per node unless ``server_tasks_per_node`` says more):
    vLLM runs inside a Ray cluster (``ray_cluster_command``: several lines), SGLang gets
    ``--nnodes --node-rank $SLURM_PROCID --dist-init-addr <first node>:20000``, TensorRT-LLM runs
    one task per GPU under ``trtllm-llmapi-launch``, Megatron one task per GPU with PP = nodes.
    Tensor parallel is gpus x nodes for vLLM, SGLang and TensorRT-LLM, as in the reference.

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
        line = f"{runner} --model {m} --num_gpus {gpus} --num_nodes {nodes} --port {port}"
        if nodes > 1 and server_type == "vllm":  # a vLLM wrapper runs on the Ray head, as vLLM itself
            return _join(prefix, ray_cluster_command(_join(line, server_args), nodes, python))
        if nodes > 1 and server_type == "sglang":  # the reference's wrapper options for the node's rank
            line = f"{HEAD_NODE} && {line} --dist_init_addr $SLURM_MASTER_NODE --node_rank $SLURM_PROCID"
        return _join(prefix, line, server_args)
    if server_type == "vllm":
        cmd = (
            f"{python} -m vllm.entrypoints.openai.api_server --model {m} --served-model-name {m} "
            f"--trust-remote-code --host {host} --port {port} --tensor-parallel-size {tp}"
        )
        if nodes > 1:  # one Ray cluster over the nodes; the API server on node 0 drives all GPUs
            cmd += " --distributed-executor-backend ray"
            return _join(prefix, ray_cluster_command(_join(cmd, server_args), nodes, python))
    elif server_type == "sglang":
        cmd = (
            f"{python} -m sglang.launch_server --model-path {m} --served-model-name {m} "
            f"--trust-remote-code --host {host} --port {port} --tp {tp}"
        )
        if nodes > 1:  # every node runs this line; node 0 (rank 0) serves HTTP
            cmd = (
                f"{HEAD_NODE} && {cmd} --nnodes {nodes} --node-rank $SLURM_PROCID"
                f' --dist-init-addr "$SLURM_MASTER_NODE:{SGLANG_DIST_PORT}"'
            )
    elif server_type == "trtllm":
        cmd = f"trtllm-serve {m} --host {host} --port {port} --tp_size {tp}"
        if nodes > 1:
            # Multi-node: Slurm starts one task per GPU (server_tasks_per_node); the launcher joins
            # them into one MPI world and rank 0 serves HTTP.
            cmd = f"trtllm-llmapi-launch {cmd}"
    else:
        raise UsageError(
            f"unknown server type '{server_type}' (hosted servers: {', '.join(SERVER_TYPES)})"
        )
    return _join(prefix, cmd, server_args)


# The first node of the job's allocation, where rank 0 runs (the Ray head, SGLang's rank 0) and
# the client runs; a value set before (e.g. by hand) is kept.
HEAD_NODE = ('export SLURM_MASTER_NODE="${SLURM_MASTER_NODE:-$(scontrol show hostnames "$SLURM_JOB_NODELIST" '
             '| head -n1)}"')
SGLANG_DIST_PORT = 20000
RAY_PORT = 6379  # the head's port ($SKILLS_RAY_PORT at run time)
# Ray's other ports fixed, as the reference fixes them (clusters that open only known ports between
# nodes); $SKILLS_RAY_PORTS replaces the list (empty: Ray's defaults, e.g. two Ray nodes on one machine).
RAY_PORTS = ("--node-manager-port=12345 --object-manager-port=12346 --dashboard-port=8265 "
             "--dashboard-agent-grpc-port=12347 --runtime-env-agent-port=12349 --metrics-export-port=12350 "
             "--min-worker-port=14349 --max-worker-port=18349")
RAY_WAIT_NODES = (  # on the head: until `want` nodes are alive in the Ray cluster (or the time is up)
    "import sys, time, ray\n"
    "want, limit = int(sys.argv[1]), float(sys.argv[2])\n"
    "deadline = time.time() + limit\n"
    "ray.init(address=\"auto\", logging_level=\"ERROR\")\n"
    "while True:\n"
    "    alive = sum(1 for n in ray.nodes() if n.get(\"Alive\"))\n"
    "    if alive >= want:\n"
    "        print(f\"ray cluster: {alive} of {want} nodes joined\", flush=True)\n"
    "        break\n"
    "    if time.time() > deadline:\n"
    "        sys.exit(f\"ray cluster: only {alive} of {want} nodes joined in {limit:.0f} s\")\n"
    "    time.sleep(3)\n"
    "ray.shutdown()"
)
RAY_WAIT_HEAD = (  # on a worker: until the head's port answers (or the time is up)
    "import socket, sys, time\n"
    "deadline = time.time() + float(sys.argv[3])\n"
    "while True:\n"
    "    try:\n"
    "        socket.create_connection((sys.argv[1], int(sys.argv[2])), 5).close()\n"
    "        break\n"
    "    except OSError:\n"
    "        if time.time() > deadline:\n"
    "            sys.exit(f\"no ray head at {sys.argv[1]}:{sys.argv[2]}\")\n"
    "        time.sleep(3)"
)
WAIT_S = "${SKILLS_SERVER_WAIT_S:-7200}"


def ray_cluster_command(server: str, nodes: int, python: str = "python3") -> str:
    """The server line run inside a Ray cluster over ``nodes`` nodes, one task per node.

    Task 0 (``$SLURM_PROCID``, on the first node) starts the Ray head, waits until all ``nodes``
    nodes have joined and then runs ``server`` (stopping Ray when it exits); the other tasks wait
    until the head's port answers and join it as blocking workers. ``ray`` is the CLI next to
    ``python`` (the server's environment)."""
    ray = os.path.join(os.path.dirname(python), "ray") if os.sep in python else "ray"
    ports = f'${{SKILLS_RAY_PORTS-"{RAY_PORTS}"}}'
    return "\n".join([
        HEAD_NODE,
        "export RAY_raylet_start_wait_time_s=120",
        f"_ray_ports={ports}",
        f"_ray_port=${{SKILLS_RAY_PORT:-{RAY_PORT}}}",
        'if [ "${SLURM_PROCID:-0}" = 0 ]; then',
        f'  echo "ray head on $(hostname), waiting for {nodes} nodes"',
        "  " + ray + " start --head --port=$_ray_port $_ray_ports || exit 1",
        f"  trap '{ray} stop >/dev/null 2>&1' EXIT",
        f"  {python} -c {shlex.quote(RAY_WAIT_NODES)} {nodes} \"{WAIT_S}\" || exit 1",
        f"  {server}",
        "else",
        '  echo "ray worker on $(hostname), joining $SLURM_MASTER_NODE:$_ray_port"',
        f'  {python} -c {shlex.quote(RAY_WAIT_HEAD)} "$SLURM_MASTER_NODE" "$_ray_port" "{WAIT_S}" || exit 1',
        f'  {ray} start --block --address="$SLURM_MASTER_NODE:$_ray_port" $_ray_ports',
        "fi",
    ])


def server_tasks_per_node(server_type: str, gpus: int, nodes: int, slurm: bool) -> int:
    """Tasks the server step starts on each node: one per GPU where each rank is a process of its
    own (Megatron on Slurm, TensorRT-LLM over several nodes), else one (vLLM/Ray, SGLang, generic)."""
    if (server_type == "megatron" and slurm) or (server_type == "trtllm" and nodes > 1):
        return max(gpus, 1)
    return 1


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
