"""Slurm executor without a Slurm: sbatch text (dry run), state mapping, option merging."""

from __future__ import annotations

import os

import pytest

try:
    import nemo_run  # noqa: F401
except ImportError:  # skip on a developer machine, fail in CI
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise
    pytest.skip("nemo-run is not installed (pip install -e '.[slurm]')", allow_module_level=True)

from skills.config.cluster import ClusterConfig  # noqa: E402
from skills.pipeline.executors import slurm as S  # noqa: E402
from skills.pipeline.plan import Job, Plan, ServerSpec  # noqa: E402
from skills.pipeline.slurm import state  # noqa: E402
from skills.pipeline.slurm.build import split_sbatch_kwargs  # noqa: E402

SERVER_CMD = "python -m vllm.entrypoints.openai.api_server --model /models/tiny --port 5123"


def _cluster(tmp_path, **kw):
    return ClusterConfig(executor="slurm", name="t", account="acct", partition="gpu", job_dir=str(tmp_path), **kw)


def _plan(gpus: int, container=None, server_container=None, **job_kw) -> Plan:
    server = ServerSpec(server_type="vllm", model="/models/tiny", gpus=gpus, nodes=1, port=5123, args="",
                        command=SERVER_CMD, health_url="http://127.0.0.1:5123/health",
                        container=server_container, env={"VLLM_CPU_KVCACHE_SPACE": "1"})
    gen = Job(name="exp-math-rs0", kind="generation", commands=["python -m skills.inference.generate ++x=1"],
              server=server, gpus=gpus, container=container, secret_env=["OPENAI_API_KEY"],
              env={"HF_HOME": "/hf cache"}, log_dir="/logs", **job_kw)
    judge = Job(name="exp-math-judge-rs0", kind="judge", commands=["echo judge"], dependencies=[gen.name])
    return Plan(expname="exp", cluster="t", executor="slurm", jobs=[gen, judge], log_dir="/logs")


def test_server_client_without_gpus_or_containers(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-NOT-A-REAL-KEY-123")
    scripts = S.dry_run_scripts(_plan(gpus=0), _cluster(tmp_path, cpu_partition="cpu"))
    text = scripts["exp-math-rs0"]
    assert "--overlap" in text and "pids[1]" in text  # two background sruns in one allocation
    # the server takes its port when it starts: the planned one when it is free
    assert SERVER_CMD.replace("--port 5123", "--port ${_port}") in text and "skills.inference.generate" in text
    assert "print(p)' 5123)" in text
    assert text.index("_skills_wait http://127.0.0.1:") < text.index("skills.inference.generate")
    assert "--gpus-per-node" not in text
    assert "--container" not in text and "no-container-mount-home" not in text
    assert "#SBATCH --partition=cpu" in text  # gpus == 0 -> cpu_partition
    assert "#SBATCH --kill-on-invalid-dep=yes" in text
    assert "#SBATCH --output=/logs/exp-math-rs0_%j_sbatch.log" in text
    assert "/logs/server_exp-math-rs0_%j_srun.log" in text and "/logs/main_exp-math-rs0_%j_srun.log" in text
    assert "export HF_HOME='/hf cache'" in text
    assert "sk-test-NOT-A-REAL-KEY-123" not in "".join(scripts.values())
    assert "--time" not in text  # no timeouts configured: the partition's default applies


def test_server_command_and_wait_in_task_scripts(tmp_path):
    plan = _plan(gpus=0)
    from skills.pipeline.slurm.build import client_script, server_script_text

    server = server_script_text(plan.jobs[0], "/work")
    assert SERVER_CMD in server and "export VLLM_CPU_KVCACHE_SPACE=1" in server
    client = client_script(plan.jobs[0], "/work")
    assert client.index("http://127.0.0.1:5123/health") < client.index("skills.inference.generate")
    assert "|| exit $?" in client


def test_gpus_and_containers(tmp_path):
    cl = _cluster(tmp_path, mounts=["/data:/data"], timeouts={"gpu": "04:00:00"})
    plan = _plan(gpus=2, container="skills:img", server_container="vllm:img")
    text = S.dry_run_scripts(plan, cl)["exp-math-rs0"]
    assert "#SBATCH --gpus-per-node=2" in text
    assert "--container-image vllm:img" in text and "--container-image skills:img" in text
    assert "/data:/data" in text
    assert "#SBATCH --time=04:00:00" in text
    assert "OPENAI_API_KEY" in text  # the NAME may appear (--container-env), never the value


def test_sbatch_options(tmp_path):
    plan = _plan(gpus=1, qos="high", time_min="00:30:00", exclusive=True,
                 sbatch_kwargs={"constraint": "a100", "reservation": "r1", "time-min": "00:20:00"})
    cl = _cluster(tmp_path)
    cl.mpi = "pmix"  # optional srun --mpi (getattr: the cluster schema may not have the key yet)
    text = S.dry_run_scripts(plan, cl)["exp-math-rs0"]
    assert text.count("--mpi=pmix") == 2
    for flag in ("--qos=high", "--exclusive", "--mem=0", "--constraint=a100", "--reservation=r1",
                 "--time-min=00:20:00"):
        assert f"#SBATCH {flag}" in text, flag
    fields_, extra = split_sbatch_kwargs({"exclusive": True, "--mail-type": "END"})
    assert fields_ == {"exclusive": True} and extra == {"mail_type": "END"}


def test_render_shows_dependency_graph(tmp_path):
    plan = _plan(gpus=0)
    plan.jobs.append(Job(name="exp-math-rs0-dep1", kind="generation", commands=["true"],
                         dependencies=["exp-math-rs0"], chain_index=1))
    text = S.render_dry_run(plan, _cluster(tmp_path))
    assert "exp-math-judge-rs0  <-  afterok: exp-math-rs0" in text
    assert "exp-math-rs0-dep1  <-  afterany: exp-math-rs0" in text
    assert "===== exp-math-judge-rs0 =====" in text


def test_plan_errors(tmp_path):
    plan = _plan(gpus=0)
    plan.jobs[1].dependencies = ["nope"]
    with pytest.raises(S.UsageError, match="unknown dependencies"):
        S.dry_run_scripts(plan, _cluster(tmp_path))


def test_state_mapping():
    assert state.normalize("FAILED", "1:0", "NonZeroExitCode") == ("failed", "FAILED", "exit code 1")
    assert state.normalize("TIMEOUT", "0:0", "TimeLimit").reason.startswith("TIMEOUT")
    cancelled = state.normalize("CANCELLED", "0:0", "DependencyNeverSatisfied")
    assert cancelled.state == "cancelled" and "DependencyNeverSatisfied" in cancelled.reason
    assert state.normalize("CANCELLED by 0", "0:0", "None").reason == "cancelled (by 0)"
    assert state.normalize("PENDING", "", "DependencyNeverSatisfied").state == "pending"
    assert state.normalize("COMPLETED", "0:0", "Dependency") == ("done", "COMPLETED", "")
    assert state.normalize("OUT_OF_MEMORY", "0:125", "None").state == "failed"


def test_query_prefers_squeue_reason():
    def fake(cmd):
        if cmd.startswith("sacct"):
            return 0, "7|CANCELLED|0:0|Dependency\n8|FAILED|2:0|None\n"
        return 0, "7|CANCELLED|DependencyNeverSatisfied\n"

    got = state.query(["7", "8", "9"], fake)
    assert "DependencyNeverSatisfied" in got["7"].reason
    assert got["8"].reason == "exit code 2"
    assert got["9"].state == "unknown"


def test_ssh_cluster_paths(tmp_path):
    from skills.config.cluster import SshTunnel

    cl = _cluster(tmp_path, ssh_tunnel=SshTunnel(host="login.example", user="me", job_dir="/remote/jobs"))
    cl.job_dir = None
    text = S.dry_run_scripts(_plan(gpus=0), cl)["exp-math-judge-rs0"]
    assert "/remote/jobs/exp/exp_" in text and str(tmp_path) not in text
    assert "cd " not in text.split("(run by srun above)")[1]  # no local working dir on a remote node


def test_missing_required_secret_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SOME_API_KEY", raising=False)
    plan = _plan(gpus=0)
    plan.required_env = ["SOME_API_KEY"]
    with pytest.raises(S.UsageError, match="SOME_API_KEY"):
        S.run_plan(plan, _cluster(tmp_path))
