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


def test_code_execution_plans_the_sandbox_without_with_sandbox(capsys, tmp_path, data_dir):
    """++code_execution=True runs the model's code in the sandbox: every generation job gets the
    sidecar, also on Slurm, where the rendered sbatch script starts it before the generation."""
    args = ["--server_type=vllm", "--model=/models/m", "--server_gpus=1", "--benchmarks=aime24:2",
            f"--data_dir={data_dir}", "++code_execution=True", "++code_tags=openmath",
            "++inference.tokens_to_generate=64"]
    rc = main(["eval", "--cluster=local", *args, f"--output_dir={tmp_path / 'out'}", "--num_jobs=-1", "--dry_run",
               "--dry_run_format=json"])
    assert rc == 0
    jobs = [j for j in json.loads(capsys.readouterr().out)["jobs"] if j["kind"] == "generation"]
    assert len(jobs) == 2 and all([s["name"] for s in j["sidecars"]] == ["sandbox"] for j in jobs)
    assert all("++code_execution=True" in " ".join(j["commands"]) for j in jobs)

    cfg = tmp_path / "slurm.yaml"
    cfg.write_text("executor: slurm\naccount: a\npartition: p\njob_dir: /jobs\nenvironments:\n  sandbox:\n"
                   "    venv: /opt/venvs/sandbox\n")
    rc = main(["eval", f"--cluster={cfg}", *args, "--output_dir=/lustre/out", "--dry_run"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "-m skills.sandbox.server" in text and "/opt/venvs/sandbox/bin/python" in text
    assert text.index("skills.sandbox.server") < text.index("skills.inference.generate")
    # without it, no sandbox is planned
    rc = main(["eval", f"--cluster={cfg}", *args[:-3], "--output_dir=/lustre/out", "--dry_run"])
    assert rc == 0 and "skills.sandbox.server" not in capsys.readouterr().out


def test_ns_generate_with_code_execution_plans_the_sandbox(capsys, tmp_path, data_dir):
    rc = main(["generate", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
               "--model=m", f"--input_file={data_dir / 'aime24' / 'test.jsonl'}", f"--data_dir={data_dir}",
               f"--output_dir={tmp_path / 'gen'}", "++prompt_config=generic/math", "++code_execution=True",
               "++code_tags=qwen", "--dry_run", "--dry_run_format=json"])
    assert rc == 0
    (job,) = json.loads(capsys.readouterr().out)["jobs"]
    assert [s["name"] for s in job["sidecars"]] == ["sandbox"] and "SKILLS_SANDBOX_URL" in job["env"]
