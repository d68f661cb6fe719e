"""The LLM-judge stage of `ns eval` (HLE) through the local executor, against stub endpoints.

The real-model version (vLLM as model and judge) is in test_e2e_local.py; here the endpoints
misbehave on purpose (429s and 500s) and the API key must never leak into any file.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl

from skills.cli.app import main
from tests.helpers.stub_server import StubProcess
from tests.helpers.paths import FIXTURES, NS

FAKE_KEY = "sk-test-fake-key-4b1d9e"


@pytest.fixture
def hle_data(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("SKILLS_DATA_MIRROR", raising=False)
    data = tmp_path / "data"
    assert main(["prepare_data", "hle", f"--data_dir={data}", f"--mirror={FIXTURES}"]) == 0
    return data



def test_flaky_judge_still_yields_complete_judged_files(hle_data, tmp_path):
    out = tmp_path / "out"
    with StubProcess(answer="Reasoning... The answer is \\boxed{42}.") as gen, \
            StubProcess(answer="extracted_final_answer: 42\nJudgement: yes", fail_every=3,
                        fail_kinds="429,500", retry_after="0.05") as judge:
        res = subprocess.run(
            [NS, "eval", "--cluster=local", "--server_type=openai", f"--server_address={gen.base_url}",
             "--model=stub-model", "--judge_server_type=openai", f"--judge_server_address={judge.base_url}",
             "--judge_model=stub-judge", "--benchmarks=hle:2", "--starting_seed=1", f"--data_dir={hle_data}",
             f"--output_dir={out}", "--extra_judge_args=++max_concurrent_requests=4"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
            env={**os.environ, "OPENAI_API_KEY": FAKE_KEY})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    rows = read_jsonl(hle_data / "hle" / "text.jsonl")
    results = out / "eval-results" / "hle"
    for seed in (1, 2):  # --starting_seed reaches the judge too
        judged = read_jsonl(results / f"output-rs{seed}.jsonl")
        assert [r["id"] for r in judged] == [r["id"] for r in rows]
        assert all(r["judgement"].endswith("Judgement: yes") for r in judged)
        assert (results / f"output-rs{seed}.jsonl.done").exists()
    logs = "".join(p.read_text(errors="replace") for p in (out / "eval-logs").rglob("*.log"))
    assert "retried" in logs or "retried" in res.stderr  # the failures happened and were absorbed
    metrics = json.loads((results / "metrics.json").read_text())
    assert metrics["hle"]["pass@1[avg-of-2]"]["judge_correct"] == pytest.approx(100.0)
    for path in out.rglob("*"):
        if path.is_file():
            assert FAKE_KEY not in path.read_text(errors="replace"), path


def test_hle_default_judge_needs_api_key_before_anything_runs(hle_data, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "out"
    rc = main(["eval", "--cluster=local", "--server_type=vllm", "--server_address=http://127.0.0.1:9/v1",
               "--model=m", "--benchmarks=hle:2", f"--data_dir={hle_data}", f"--output_dir={out}"])
    err = capsys.readouterr().err
    assert rc == 2 and "OPENAI_API_KEY" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() or not any(out.rglob("*.jsonl"))


def test_hle_without_token_or_mirror_is_one_line(tmp_path, monkeypatch, capsys):
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "SKILLS_DATA_MIRROR", "NEMO_SKILLS_DATA_MIRROR"):
        monkeypatch.delenv(var, raising=False)
    rc = main(["prepare_data", "hle", f"--data_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert rc == 2 and "HF_TOKEN" in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.rglob("*.jsonl"))


def test_any_benchmark_opts_into_a_judge(tmp_path):
    """--judge_* on a benchmark without a judge of its own: the generic judge prompt, a `judgement`
    field next to the untouched generation, and judge_correct beside symbolic_correct."""
    data = tmp_path / "data"
    (data / "aime24").mkdir(parents=True)
    rows = [{"id": i, "problem": f"What is {i} + 1?", "expected_answer": str(i + 1)} for i in range(3)]
    (data / "aime24" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    with StubProcess(answer="The answer is \\boxed{1}.") as gen, \
            StubProcess(answer="extracted_final_answer: 1\nJudgement: no", record=tmp_path / "judge.jsonl") as judge:
        res = subprocess.run(
            [NS, "eval", "--cluster=local", "--server_type=openai", f"--server_address={gen.base_url}",
             "--model=stub-model", "--judge_server_type=openai", f"--judge_server_address={judge.base_url}",
             "--judge_model=stub-judge", "--benchmarks=aime24:1", f"--data_dir={data}", f"--output_dir={out}"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "OPENAI_API_KEY": FAKE_KEY})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    judged = read_jsonl(out / "eval-results" / "aime24" / "output-rs0.jsonl")
    assert [r["generation"] for r in judged] == ["The answer is \\boxed{1}."] * 3
    assert all(r["judgement"].endswith("Judgement: no") for r in judged)
    sent = [json.loads(line)["body"]["messages"][-1]["content"] for line in (tmp_path / "judge.jsonl").open()]
    assert any("What is 0 + 1?" in m and "\\boxed{1}" in m and "\\boxed{}" in m for m in sent)
    metrics = json.loads((out / "eval-results" / "aime24" / "metrics.json").read_text())["aime24"]["pass@1"]
    assert metrics["symbolic_correct"] == pytest.approx(100 / 3) and metrics["judge_correct"] == 0.0
