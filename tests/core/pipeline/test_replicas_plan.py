"""``--server_replicas``: K hosted servers of one model per job, the client given all of them."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from skills.cli.app import main
from tests.helpers.paths import REPO_ROOT

pytestmark = pytest.mark.usefixtures("no_cluster_config_env")


def plan_of(capsys, argv):
    rc = main([*argv, "--dry_run", "--dry_run_format=json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def rows(tmp_path, n=4):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "problem": f"{i} + 1"}) + "\n" for i in range(n)))
    return src


def gen_args(tmp_path, *extra):
    return ["generate", "--cluster=local", "--server_type=vllm", "--model=/models/m", "--server_gpus=2",
            f"--input_file={rows(tmp_path)}", f"--output_dir={tmp_path / 'out'}", "++prompt_config=generic/math",
            *extra]


def base_url(argv):
    return next(a for a in argv if a.startswith("++server.base_url=")).split("=", 1)[1]


def test_generate_plans_k_servers_on_distinct_ports_and_gives_the_client_all(capsys, tmp_path):
    plan = plan_of(capsys, gen_args(tmp_path, "--server_replicas=3"))
    (job,) = plan["jobs"]
    servers = [job["server"], *job["replicas"]]
    ports = [s["port"] for s in servers]
    assert len(set(ports)) == 3 and job["gpus"] == 6  # 3 replicas x 2 GPUs
    assert [s["replica"] for s in servers] == [0, 1, 2] and {s["replicas"] for s in servers} == {3}
    for s in servers:
        assert f"--port {s['port']}" in s["command"] and "--tensor-parallel-size 2" in s["command"]
    (argv,) = [p for p in job["programs"] if "skills.inference.generate" in p]
    assert base_url(argv) == "'" + ",".join(f"http://127.0.0.1:{p}/v1" for p in ports) + "'"
    # the text plan says which GPUs each replica takes
    assert main([*gen_args(tmp_path, "--server_replicas=3"), "--dry_run"]) == 0
    text = capsys.readouterr().out
    assert "replica 2/3" in text and "GPUs 2,3 of the job's" in text and "GPUs 4,5 of the job's" in text


def test_one_replica_is_the_old_plan(capsys, tmp_path):
    plan = plan_of(capsys, gen_args(tmp_path))
    (job,) = plan["jobs"]
    assert job["replicas"] == [] and job["gpus"] == 2
    (argv,) = [p for p in job["programs"] if "skills.inference.generate" in p]
    assert base_url(argv) == f"http://127.0.0.1:{job['server']['port']}/v1"


def test_eval_jobs_each_get_their_replicas(capsys, tmp_path, data_dir):
    plan = plan_of(capsys, ["eval", "--cluster=local", "--server_type=vllm", "--model=/models/m", "--server_gpus=1",
                            "--server_replicas=2", f"--output_dir={tmp_path / 'out'}", f"--data_dir={data_dir}",
                            "--benchmarks=aime24:2", "--num_jobs=2"])
    gen = [j for j in plan["jobs"] if j["kind"] == "generation"]
    assert len(gen) == 2
    ports = [s["port"] for j in gen for s in [j["server"], *j["replicas"]]]
    assert len(ports) == 4 and len(set(ports)) == 4  # distinct across the plan
    for j in gen:
        urls = {base_url(a) for a in j["programs"] if "skills.inference.generate" in a}
        assert urls == {"'" + ",".join(f"http://127.0.0.1:{s['port']}/v1" for s in [j["server"], *j["replicas"]])
                        + "'"}
        assert j["gpus"] == 2


def test_a_hosted_judge_gets_its_replicas(capsys, tmp_path, data_dir):
    plan = plan_of(capsys, ["eval", "--cluster=local", "--server_type=vllm", "--model=/models/m", "--server_gpus=1",
                            f"--output_dir={tmp_path / 'out'}", f"--data_dir={data_dir}", "--benchmarks=aime24:1",
                            "--judge_model=/models/j", "--judge_server_type=vllm", "--judge_server_gpus=1",
                            "--judge_server_replicas=2"])
    gen = [j for j in plan["jobs"] if j["kind"] == "generation"]
    judge = [j for j in plan["jobs"] if j["kind"] == "judge"]
    assert judge and all(len(j["replicas"]) == 1 and j["gpus"] == 2 for j in judge)
    assert all(j["replicas"] == [] for j in gen)  # the generation's servers are not the judge's
    for j in judge:
        (argv,) = [a for a in j["programs"] if "skills.inference.generate" in a]
        ports = [j["server"]["port"], j["replicas"][0]["port"]]
        assert base_url(argv) == "'" + ",".join(f"http://127.0.0.1:{p}/v1" for p in ports) + "'"


@pytest.mark.parametrize("extra, message", [
    (["--server_replicas=0"], "--server_replicas must be >= 1"),
    (["--server_replicas=2", "--server_nodes=2"], "--server_replicas needs single-node servers"),
])
def test_bad_replica_options_are_one_line(capsys, tmp_path, extra, message):
    assert main([*gen_args(tmp_path, *extra), "--dry_run"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_replicas_of_an_existing_endpoint_point_to_a_url_list(capsys, tmp_path):
    argv = ["generate", "--cluster=local", "--server_type=vllm", "--model=m", "--server_address=http://h:1/v1",
            "--server_replicas=2", f"--input_file={rows(tmp_path)}", f"--output_dir={tmp_path / 'o'}",
            "++prompt_config=generic/math", "--dry_run"]
    assert main(argv) == 2
    assert "comma-separated in --server_address" in capsys.readouterr().err


def test_slurm_server_step_starts_every_replica_and_the_client_waits_for_each(capsys, tmp_path):
    pytest.importorskip("nemo_run")
    from skills.config.cluster import ClusterConfig
    from skills.pipeline.executors import slurm as S
    from skills.pipeline.plan import Job, Plan
    from skills.pipeline.slurm.build import server_script_text
    from skills.servers.spec import ServerSpec

    specs = [ServerSpec(server_type="vllm", model="/m", gpus=2, nodes=1, port=p, args="",
                        command=f"python -m vllm.entrypoints.openai.api_server --port {p}",
                        health_url=f"http://127.0.0.1:{p}/health", replica=r, replicas=3)
             for r, p in enumerate((5101, 5102, 5103))]
    urls = ",".join(f"http://127.0.0.1:{s.port}/v1" for s in specs)
    job = Job(name="exp-rs0", kind="generation", commands=[f"python -m skills.inference.generate "
                                                           f"'++server.base_url={urls}'"],
              server=specs[0], replicas=specs[1:], gpus=6, log_dir="/logs")
    plan = Plan(expname="exp", cluster="t", executor="slurm", jobs=[job], log_dir="/logs")
    server = server_script_text(job, "/work", "/logs/.exit")
    for s in specs:
        assert f"--port {s.port}" in server and f"replica {s.replica + 1}/3 on port {s.port}" in server
    assert '"${_all[*]:2:2}"' in server and '"${_all[*]:4:2}"' in server  # replica r: GPUs 2r, 2r+1
    assert "${_visible:-0,1,2,3,4,5}" in server
    assert server.index("wait \"$_p\"") < server.index("echo $_rc > /logs/.exit")  # all replicas, then the exit
    cluster = ClusterConfig(executor="slurm", name="t", account="a", partition="gpu", job_dir=str(tmp_path))
    text = S.dry_run_scripts(plan, cluster)["exp-rs0"]
    waits = [text.index(f"_skills_wait http://127.0.0.1:{s.port}/health") for s in specs]
    assert waits == sorted(waits) and waits[-1] < text.index("skills.inference.generate")
    assert "server-port" not in text  # replicas keep their planned ports
    assert "#SBATCH --gpus-per-node=6" in text or "--gpus-per-node=6" in text


def test_slurm_server_step_script_runs_each_replica_on_its_gpus(tmp_path):
    """The server step's bash, run here: each replica sees its share of $CUDA_VISIBLE_DEVICES, and
    the step's exit code is written only once every replica has exited."""
    from skills.pipeline.plan import Job
    from skills.pipeline.slurm.build import server_script_text
    from skills.servers.spec import ServerSpec

    log = tmp_path / "seen"
    specs = [ServerSpec(server_type="vllm", model="/m", gpus=2, nodes=1, port=6000 + r, args="",
                        command=f"sleep {0.2 * (3 - r)}; echo {r}=$CUDA_VISIBLE_DEVICES >> {log}; exit {r}",
                        health_url="", replica=r, replicas=3) for r in range(3)]
    job = Job(name="j", kind="generation", commands=["true"], server=specs[0], replicas=specs[1:], gpus=6)
    exit_file = tmp_path / "exit"
    script = server_script_text(job, str(tmp_path), str(exit_file))
    res = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30,
                         env={"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": "4,5,6,7,8,9"})
    assert sorted(log.read_text().split()) == ["0=4,5", "1=6,7", "2=8,9"]
    assert exit_file.read_text().strip() == str(res.returncode) == "2"  # the last replica's code, once all exited
    res = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert "0=0,1" in log.read_text() and "2=4,5" in log.read_text()  # no $CUDA_VISIBLE_DEVICES: 0..5


def test_local_replicas_serve_one_run_and_one_dying_does_not_end_the_job(tmp_path):
    """Three stub servers started by the local executor (generic server type); one is killed mid-run:
    the job completes with every row once, the others having taken its rows."""
    src = rows(tmp_path, 300)
    out = tmp_path / "out"
    cmd = [str(REPO_ROOT / ".venv" / "bin" / "ns"), "generate", "--cluster=local", "--server_type=generic",
           "--server_entrypoint=-m tests.helpers.stub_server", "--model=stub-model", "--server_gpus=1",
           "--server_replicas=3", "--server_args=--latency 0.1 --answer port{port}", f"--input_file={src}",
           f"--output_dir={out}", "++prompt_config=generic/math", "++prompt_source=own",
           "++max_concurrent_requests=4"]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen, ports = [], []
    deadline = time.monotonic() + 120
    killed = None
    for line in proc.stdout:
        seen.append(line)
        if "starting generic server (replica" in line:
            ports.append(int(line.split(" on port ")[1].split()[0]))
        if killed is None and len(ports) == 3 and "server healthy" in line and line.count("healthy") and \
                sum("server healthy" in s for s in seen) == 3:
            time.sleep(1.5)  # requests in flight everywhere
            killed = _kill_listener(ports[1])
        if time.monotonic() > deadline:
            proc.kill()
            break
    proc.wait(timeout=60)
    log = "".join(seen)
    assert proc.returncode == 0, log
    assert killed, log
    done = [json.loads(line) for line in (out / "output.jsonl").read_text().splitlines()]
    assert [r["id"] for r in done] == list(range(300))
    by = {p: sum(r["generation"] == f"port{p}" for r in done) for p in ports}
    assert sum(by.values()) == 300 and by[ports[0]] > 100 and by[ports[2]] > 100 and by[ports[1]] < 100, by
    assert "the other replicas go on" in log


def _kill_listener(port: int) -> bool:
    """SIGKILL the process listening on ``port`` on this machine (found through /proc)."""
    import os
    import signal
    from pathlib import Path

    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "0A":
                inode = f[9]
    if inode is None:
        return False
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    os.kill(int(pid), signal.SIGKILL)
                    return True
            except OSError:
                continue
    return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
