"""The Slurm executor against a real single-node Slurm (started by the ``local_slurm`` fixture).

Plans are built by hand: "generation" jobs write files, "judge" jobs depend on their generation,
"metrics" jobs on their judge.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.helpers.slurm import sacct_states

from skills.pipeline.plan import Job, Plan, ServerSpec

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
WAIT_S = 600  # safety net against a hung job; no assertion depends on timing
KEY = "sk-test-NOT-A-REAL-KEY-123"


def _run(plan, cluster, wait=True):
    from skills.pipeline.executors import slurm as S

    rc = S.run_plan(plan, cluster, wait=False)
    assert rc == 0
    if not wait:
        return None
    return S.wait_for(plan.expname, cluster, poll_s=1, timeout_s=WAIT_S)


def _status(name, cluster):
    from skills.pipeline.executors import slurm as S

    return {r.job: r for r in S.status(name, cluster)}


def _ids(name, cluster):
    from skills.pipeline.executors.slurm import _find_records, nemorun_home

    return {j["name"]: j["slurm_id"] for j in _find_records(name, nemorun_home(cluster))["jobs"]}


def _stages(out: Path, seeds, fail=()):
    jobs = []
    for s in seeds:
        gen = f"exp-gen-rs{s}"
        cmd = f"echo 'boom' >&2; exit 1" if s in fail else f"echo answer{s} > {out}/gen{s}.txt"
        jobs.append(Job(name=gen, kind="generation", commands=[cmd]))
        jobs.append(Job(name=f"exp-judge-rs{s}", kind="judge", dependencies=[gen],
                        commands=[f"cp {out}/gen{s}.txt {out}/judge{s}.txt", f"echo judged >> {out}/judge{s}.txt"]))
        jobs.append(Job(name=f"exp-metrics-rs{s}", kind="metrics", dependencies=[f"exp-judge-rs{s}"],
                        commands=[f"wc -l < {out}/judge{s}.txt > {out}/metrics{s}.txt"]))
    return jobs


def _plan(name, tmp_path, jobs, **kw):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return Plan(expname=name, cluster="test-slurm", executor="slurm", jobs=jobs, output_dir=str(out),
                log_dir=str(tmp_path / "logs"), **kw)


def test_three_stages_complete(slurm_cluster, tmp_path, capsys):
    out = tmp_path / "out"
    plan = _plan("chain", tmp_path, _stages(out, [0, 1]))
    assert _run(plan, slurm_cluster) == 0
    printed = capsys.readouterr().out
    assert "Submitted experiment 'chain'" in printed and "slurm job" in printed
    for s in (0, 1):
        assert (out / f"judge{s}.txt").read_text() == f"answer{s}\njudged\n"
        assert (out / f"metrics{s}.txt").read_text().strip() == "2"
    rows = _status("chain", slurm_cluster)
    assert {r.state for r in rows.values()} == {"done"}
    assert set(sacct_states(list(_ids("chain", slurm_cluster).values())).values()) == {"COMPLETED"}
    assert all(Path(r.log_path).is_file() for r in rows.values())


def test_failure_cancels_only_its_dependents(slurm_cluster, tmp_path):
    out = tmp_path / "out"
    plan = _plan("fail", tmp_path, _stages(out, [0, 1], fail={0}))
    assert _run(plan, slurm_cluster) == 1
    rows = _status("fail", slurm_cluster)
    bad = rows["exp-gen-rs0"]
    assert bad.state == "failed" and bad.reason == "exit code 1"
    assert "boom" in Path(bad.log_path).read_text()
    for name in ("exp-judge-rs0", "exp-metrics-rs0"):
        assert rows[name].state == "cancelled" and "DependencyNeverSatisfied" in rows[name].reason
    for name in ("exp-gen-rs1", "exp-judge-rs1", "exp-metrics-rs1"):
        assert rows[name].state == "done", rows[name]
    assert (out / "metrics1.txt").is_file() and not (out / "judge0.txt").exists()
    ids = _ids("fail", slurm_cluster)
    states = sacct_states([ids["exp-judge-rs0"], ids["exp-metrics-rs0"], ids["exp-gen-rs0"]])
    assert states == {ids["exp-judge-rs0"]: "CANCELLED", ids["exp-metrics-rs0"]: "CANCELLED",
                      ids["exp-gen-rs0"]: "FAILED"}


def test_wall_time_chain_resumes(slurm_cluster, tmp_path):
    """1-minute wall time, ~100 s of work: the --dependent_jobs copy finishes what the first could not."""
    from skills.pipeline.jobs import chain

    out = tmp_path / "out"
    out.mkdir()
    work = (f"[ -f {out}/gen.done ] && exit 0; n=$(cat {out}/count 2>/dev/null || echo 0); "
            f"while [ $n -lt 100 ]; do sleep 1; n=$((n+1)); echo $n > {out}/count; done; touch {out}/gen.done")
    gen = Job(name="wt-gen", kind="generation", commands=[work], time_limit="1")
    jobs, last = chain([gen], 1)
    judge = Job(name="wt-judge", kind="judge", dependencies=[last["wt-gen"]], commands=[f"cat {out}/count"])
    assert _run(_plan("walltime", tmp_path, [*jobs, judge]), slurm_cluster) == 0
    rows = _status("walltime", slurm_cluster)
    assert rows["wt-gen"].state == "failed" and rows["wt-gen"].reason.startswith("TIMEOUT")
    assert "resumed by wt-gen-dep1" in rows["wt-gen"].reason
    assert rows["wt-gen-dep1"].state == "done" and rows["wt-judge"].state == "done"
    assert (out / "count").read_text().strip() == "100" and (out / "gen.done").exists()


def test_secrets_never_written(slurm_cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out"
    job = Job(name="sec-gen", kind="generation", secret_env=["OPENAI_API_KEY"], env={"PLAIN": "visible"},
              commands=[f'echo "len=${{#OPENAI_API_KEY}} plain=$PLAIN" | tee {out}/len.txt'])
    plan = _plan("secrets", tmp_path, [job], required_env=["OPENAI_API_KEY"])
    assert _run(plan, slurm_cluster) == 0
    assert (out / "len.txt").read_text().strip() == f"len={len(KEY)} plain=visible"
    leaks = [p for root in (tmp_path, Path("/var/log/slurm")) for p in root.rglob("*")
             if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaks == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_and_client_in_one_allocation(slurm_cluster, tmp_path):
    """The client waits for the server, the server is stopped after it; a failing client fails the job."""
    out = tmp_path / "out"
    out.mkdir()

    def server(port):
        return ServerSpec(server_type="vllm", model="m", gpus=1, nodes=1, port=port, args="",
                          command=f"exec python3 -m http.server {port} --bind 127.0.0.1 --directory {out}",
                          health_url=f"http://127.0.0.1:{port}/", env={"SERVER_ONLY": "1"})

    port = _free_port()
    (out / "hello.txt").write_text("hi from server\n")
    fetch = f"python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:{port}/hello.txt').read().decode())\""
    job = Job(name="srv-gen", kind="generation", server=server(port), gpus=1,
              commands=[f"{fetch} > {out}/fetched.txt", f'echo "gpus=$CUDA_VISIBLE_DEVICES" > {out}/gpus.txt'])
    bad = Job(name="srv-bad", kind="generation", server=server(_free_port()), gpus=1,
              commands=["echo first", "exit 3", f"touch {out}/never"])
    assert _run(_plan("server", tmp_path, [job, bad]), slurm_cluster) == 1
    rows = _status("server", slurm_cluster)
    assert rows["srv-gen"].state == "done"
    assert rows["srv-bad"].state == "failed" and rows["srv-bad"].reason == "exit code 3"
    assert not (out / "never").exists()
    assert (out / "fetched.txt").read_text().strip() == "hi from server"
    assert (out / "gpus.txt").read_text().strip() in ("gpus=0", "gpus=1")  # --gpus-per-node=1 honoured
    server_logs = list((tmp_path / "logs").glob("server_srv-gen_*_srun.log"))
    assert server_logs and "GET /hello.txt" in server_logs[0].read_text()


def test_run_after_waits_for_other_experiment(slurm_cluster, tmp_path):
    from skills.pipeline.executors import slurm as S

    out = tmp_path / "out"
    up = Job(name="up", kind="command", commands=[f"while [ ! -f {out}/go ]; do sleep 0.5; done; echo up > {out}/up.txt"])
    _run(_plan("upstream", tmp_path, [up]), slurm_cluster, wait=False)
    down = Job(name="down", kind="command", commands=[f"cp {out}/up.txt {out}/down.txt"])
    _run(_plan("downstream", tmp_path, [down], run_after=["upstream"]), slurm_cluster, wait=False)
    row = _status("downstream", slurm_cluster)["down"]
    assert row.state == "pending" and "Dependency" in row.reason
    (out / "go").touch()
    assert S.wait_for("downstream", slurm_cluster, poll_s=1, timeout_s=WAIT_S) == 0
    assert (out / "down.txt").read_text() == "up\n"


def test_server_dying_mid_job_ends_the_job(slurm_cluster, tmp_path):
    """Without the watch, clients would wait for a dead server until the wall time."""
    import time

    out = tmp_path / "out"
    out.mkdir()
    port = _free_port()
    server = ServerSpec(server_type="vllm", model="m", gpus=1, nodes=1, port=port, args="",
                        command=f"timeout 8 python3 -m http.server {port} --bind 127.0.0.1 --directory {out}; "
                                "echo 'worker crashed' >&2; exit 9",
                        health_url=f"http://127.0.0.1:{port}/", env={})
    job = Job(name="srv-dies", kind="generation", server=server, gpus=1,
              commands=["sleep 300", f"touch {out}/never"])
    after = Job(name="srv-dies-metrics", kind="metrics", dependencies=["srv-dies"], commands=["true"])
    start = time.monotonic()
    assert _run(_plan("serverdies", tmp_path, [job, after]), slurm_cluster) == 1
    assert time.monotonic() - start < 200
    rows = _status("serverdies", slurm_cluster)
    assert rows["srv-dies"].state == "failed" and rows["srv-dies-metrics"].state == "cancelled"
    assert not (out / "never").exists()
    main_log = next((tmp_path / "logs").glob("main_srv-dies_*_srun.log"))
    logs = main_log.read_text() + "".join(p.read_text() for p in (tmp_path / "logs").glob("main_srv-dies_*_srun.err"))
    assert "the server exited with code 9 while the job ran" in logs
