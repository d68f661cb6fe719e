"""The code sandbox as a job sidecar: planned by --with_sandbox, started next to the commands, reached
through $SKILLS_SANDBOX_URL, stopped afterwards."""

from __future__ import annotations

import json

from skills.cli.app import main


def test_with_sandbox_puts_a_sandbox_next_to_every_generation_job(capsys, tmp_path, data_dir):
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
               "--model=m", "--benchmarks=aime24:2,math-500", f"--data_dir={data_dir}", "--num_jobs=-1",
               f"--output_dir={tmp_path / 'out'}", "--with_sandbox", "--dry_run", "--dry_run_format=json"])
    assert rc == 0
    jobs = [j for j in json.loads(capsys.readouterr().out)["jobs"] if j["kind"] == "generation"]
    assert len(jobs) == 3
    ports = set()
    for job in jobs:
        (sc,) = job["sidecars"]
        assert sc["name"] == "sandbox" and "-m skills.sandbox.server" in sc["command"]
        assert job["env"]["SKILLS_SANDBOX_URL"] == f"http://127.0.0.1:{sc['port']}"
        ports.add(sc["port"])
    assert len(ports) == 3  # each job its own port


def test_run_cmd_with_sandbox_runs_code_through_the_sidecar(tmp_path, capsys):
    out = tmp_path / "answer.txt"
    script = tmp_path / "use.py"
    script.write_text(
        "import os, sys\n"
        "from skills.sandbox import get_sandbox\n"
        "res = get_sandbox().execute('print(6 * 7)')\n"
        f"open({str(out)!r}, 'w').write(os.environ['SKILLS_SANDBOX_URL'] + ' ' + res.stdout)\n")
    rc = main(["run_cmd", "--cluster=local", "--with_sandbox", f"--log_dir={tmp_path / 'logs'}",
               "--expname=sbx", f"python {script}"])
    assert rc == 0, capsys.readouterr().out
    url, answer = out.read_text().split()
    assert url.startswith("http://127.0.0.1:") and answer == "42"
    status = json.loads((tmp_path / "logs" / "status.json").read_text())["jobs"]["sbx"]
    assert "sandbox" in status["sidecar_logs"] and status["state"] == "done"
