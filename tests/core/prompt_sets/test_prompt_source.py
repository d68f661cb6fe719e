"""Our own prompt wording never stands in quietly: without the reference's prompt set a run stops
with one line, unless asked (``++prompt_source=own``); then the summary table, metrics.json and the
report mark the benchmark."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl
from skills.config.errors import UsageError
from skills.inference.prompts import load_prompt_config
from skills.report.build import build_report
from tests.helpers.stub_server import StubProcess
from tests.helpers.paths import NS

OWN = "own (generation)"


def aime_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"  # prepared rows, no .prompt-sets/: the reference's wording is missing
    (data / "aime24").mkdir(parents=True)
    rows = [{"id": i, "problem": f"What is {i} + 1?", "expected_answer": str(i + 1)} for i in range(3)]
    (data / "aime24" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data


def eval_run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SKILLS_PROMPT_SET_DIR", "SKILLS_PROMPT_SOURCE")}
    with StubProcess(answer="The answer is \\boxed{1}.") as gen:
        return subprocess.run([NS, "eval", "--cluster=local", "--server_type=vllm", f"--server_address={gen.base_url}",
                               "--model=m", "--benchmarks=aime24:1", f"--data_dir={aime_data(tmp_path)}",
                               f"--output_dir={tmp_path / 'out'}", *extra],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)


def test_missing_prompt_set_stops_the_run_with_one_line(tmp_path):
    res = eval_run(tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "generic/math" in lines[0] and "no reference prompt set" in lines[0]
    assert "++prompt_source=own" in lines[0]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.jsonl"))


def test_the_environment_can_ask_too(tmp_path, monkeypatch):
    """``$SKILLS_PROMPT_SOURCE=own`` (e.g. a site's default) asks as ``++prompt_source=own`` does; an
    explicit ``++prompt_source=reference`` still refuses."""
    monkeypatch.delenv("SKILLS_PROMPT_SOURCE")
    with pytest.raises(UsageError, match=r"\+\+prompt_source=own"):
        load_prompt_config("generic/math", prompt_set_dir=str(tmp_path / "nowhere"))
    monkeypatch.setenv("SKILLS_PROMPT_SOURCE", "own")
    assert load_prompt_config("generic/math", prompt_set_dir=str(tmp_path / "nowhere")).source == "skills-builtin"
    with pytest.raises(UsageError, match="no reference prompt set"):
        load_prompt_config("generic/math", prompt_set_dir=str(tmp_path / "nowhere"), prompt_source="reference")


def test_own_wording_when_asked_is_marked_everywhere(tmp_path):
    res = eval_run(tmp_path, "++prompt_source=own")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    results = tmp_path / "out" / "eval-results"
    assert {r["prompt_source"] for r in read_jsonl(results / "aime24" / "output-rs0.jsonl")} == {"skills-builtin"}
    metrics = json.loads((results / "aime24" / "metrics.json").read_text())["aime24"]
    assert metrics and all(mode["prompt_wording"] == OWN for mode in metrics.values())
    table = subprocess.run([NS, "summarize_results", str(results)], capture_output=True, text=True, cwd=tmp_path)
    assert table.returncode == 0
    header = next(line for line in table.stdout.splitlines() if line.startswith("evaluation_mode"))
    assert header.split(" | ")[-1].strip() == "prompt_wording"
    assert f"| {OWN}" in table.stdout and "own prompt wording" in table.stderr
    html, _ = build_report(str(tmp_path / "out"), str(tmp_path / "report.html"))
    assert OWN in Path(html).read_text()


def test_jobs_inherit_the_asking(tmp_path, capsys):
    """``$SKILLS_PROMPT_SOURCE`` of the planning process reaches every generation job (a Slurm job does
    not see this shell's environment), so the plan's check and the job's agree."""
    from skills.cli.app import main

    assert main(["eval", "--cluster=local", "--server_type=vllm", "--server_address=http://127.0.0.1:9/v1",
                 "--model=m", "--benchmarks=aime24:2", f"--data_dir={aime_data(tmp_path)}",
                 f"--output_dir={tmp_path / 'out'}", "--dry_run", "--dry_run_format=json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    jobs = [j for j in plan["jobs"] if j["kind"] == "generation"]
    assert jobs and all(j["env"]["SKILLS_PROMPT_SOURCE"] == "own" for j in jobs)
