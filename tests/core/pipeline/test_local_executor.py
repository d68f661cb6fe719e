"""Local executor on tiny fake jobs: order, failures, skipped dependents, a fake server, status.json."""

import io
import json
import shlex
import sys

import pytest

from skills.pipeline.executors.local import run_plan, topo_order
from skills.pipeline.plan import Job, Plan, ServerSpec
from skills.pipeline.status import find_status, show_status
from skills.servers.ports import find_free_port


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SKILLS_STATE_DIR", str(tmp_path / "state"))


def plan_of(tmp_path, *jobs):
    return Plan(expname="t", cluster="local", executor="local", jobs=list(jobs), log_dir=str(tmp_path / "logs"))


def fake_server(tmp_path, die=False):
    root = tmp_path / "www"
    root.mkdir(exist_ok=True)
    (root / "health").write_text("ok")
    port = find_free_port()
    py = shlex.quote(sys.executable)
    cmd = (f"echo booting; exit 3" if die else
           f"{py} -m http.server {port} --bind 127.0.0.1 --directory {shlex.quote(str(root))}")
    return ServerSpec(server_type="vllm", model="m", gpus=0, nodes=1, port=port, args="", command=cmd,
                      health_url=f"http://127.0.0.1:{port}/health")


def test_runs_in_dependency_order_and_streams(tmp_path):
    marker = tmp_path / "order.txt"
    a = Job("a", "command", [f"echo a >> {marker}"])
    b = Job("b", "command", [f"echo b >> {marker}", "echo second-command"], dependencies=["a"])
    out = io.StringIO()
    rc = run_plan(plan_of(tmp_path, b, a), out=out)
    assert rc == 0
    assert marker.read_text().split() == ["a", "b"]
    assert "[b] second-command" in out.getvalue()
    assert "second-command" in (tmp_path / "logs" / "b.log").read_text()


def test_failure_skips_dependents_but_not_others(tmp_path):
    jobs = [Job("bad", "command", ["echo oops; false"]), Job("child", "command", ["echo child"], dependencies=["bad"]),
            Job("grandchild", "command", ["echo gc"], dependencies=["child"]), Job("other", "command", ["echo other"])]
    out = io.StringIO()
    rc = run_plan(plan_of(tmp_path, *jobs), out=out)
    assert rc != 0
    status = json.loads((tmp_path / "logs" / "status.json").read_text())["jobs"]
    assert {k: v["state"] for k, v in status.items()} == {
        "bad": "failed", "child": "skipped", "grandchild": "skipped", "other": "done"}
    text = out.getvalue()
    assert "FAILED bad" in text and str(tmp_path / "logs" / "bad.log") in text


def test_parallel_evals_any_failure_fails_job(tmp_path):
    from skills.pipeline.jobs import parallel_command

    job = Job("p", "generation", [parallel_command(["true", "sleep 0.1; exit 4", "true"])])
    assert run_plan(plan_of(tmp_path, job), out=io.StringIO()) == 1


def test_job_with_fake_server(tmp_path):
    server = fake_server(tmp_path)
    job = Job("srv", "generation", [f"curl -sf {server.health_url} || "
                                    f"{shlex.quote(sys.executable)} -c \"import urllib.request as u; "
                                    f"print(u.urlopen('{server.health_url}').read().decode())\""], server=server)
    out = io.StringIO()
    rc = run_plan(plan_of(tmp_path, job), out=out)
    assert rc == 0, out.getvalue()
    assert "ok" in (tmp_path / "logs" / "srv.log").read_text()
    assert (tmp_path / "logs" / "srv-server.log").exists()
    from skills.servers.ports import port_is_free

    assert port_is_free(server.port)  # server stopped afterwards


def test_server_that_dies_fails_with_log_tail(tmp_path):
    job = Job("dead", "generation", ["echo never"], server=fake_server(tmp_path, die=True))
    follower = Job("after", "metrics", ["echo x"], dependencies=["dead"])
    out = io.StringIO()
    rc = run_plan(plan_of(tmp_path, job, follower), out=out, server_timeout_s=30)
    assert rc == 1
    assert "booting" in out.getvalue()  # the log tail is shown
    log = tmp_path / "logs" / "dead.log"
    assert not log.exists() or "never" not in log.read_text()  # commands never ran
    status = json.loads((tmp_path / "logs" / "status.json").read_text())["jobs"]
    assert status["dead"]["state"] == "failed" and status["after"]["state"] == "skipped"


def test_server_dying_mid_job_ends_the_job(tmp_path):
    """Clients would wait for a dead server forever; the executor ends the job with the log tail."""
    import time

    server = fake_server(tmp_path)
    server.command = f"timeout 3 {server.command}; echo 'worker crashed: CPU Generator' >&2; exit 9"
    job = Job("crash", "generation", ["sleep 120", "echo never"], server=server)
    out = io.StringIO()
    start = time.monotonic()
    rc = run_plan(plan_of(tmp_path, job), out=out, server_timeout_s=30)
    assert rc == 1 and time.monotonic() - start < 60
    text = out.getvalue()
    assert "server exited with code 9 while the job ran" in text and "worker crashed" in text
    assert "never" not in (tmp_path / "logs" / "crash.log").read_text()


def test_secrets_pass_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_TOKEN", "tok-123")
    job = Job("s", "command", ['test "$MY_TOKEN" = tok-123 && echo "$PLAIN"'], env={"PLAIN": "visible"},
              secret_env=["MY_TOKEN"])
    out = io.StringIO()
    assert run_plan(plan_of(tmp_path, job), out=out) == 0
    assert "visible" in out.getvalue()
    assert "tok-123" not in (tmp_path / "logs" / "status.json").read_text()


def test_status_by_dir_and_expname(tmp_path, capsys):
    run_plan(plan_of(tmp_path, Job("one", "command", ["true"])), out=io.StringIO())
    assert find_status(str(tmp_path)) == tmp_path / "logs" / "status.json"
    assert find_status("t").resolve() == (tmp_path / "logs" / "status.json").resolve()
    assert show_status("t") == 0
    assert "one" in capsys.readouterr().out


def test_ns_status_cli(tmp_path, capsys):
    from skills.cli.app import main

    run_plan(plan_of(tmp_path, Job("one", "command", ["false"])), out=io.StringIO())
    assert main(["status", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["jobs"]["one"]["state"] == "failed"
    assert main(["status", str(tmp_path / "nothing-here")]) == 2


def test_topo_order_keeps_plan_order():
    jobs = [Job("c", "x", [], dependencies=["b"]), Job("a", "x", []), Job("b", "x", [], dependencies=["a"])]
    assert [j.name for j in topo_order(Plan("e", "local", "local", jobs))] == ["a", "b", "c"]


def test_ns_run_cmd_end_to_end(tmp_path, capsys):
    from skills.cli.app import main

    rc = main(["run_cmd", "--cluster=local", f"--log_dir={tmp_path / 'l'}", "--expname=hello", "echo", "hi-there"])
    out = capsys.readouterr().out
    assert rc == 0 and "[hello] hi-there" in out
    rc = main(["run_cmd", "--cluster=none", f"--log_dir={tmp_path / 'l2'}", "--command=exit 5"])
    assert rc == 1
