"""Smaller differences from the reference found in the comparison: the developer role for OpenAI
o-series models, files readable under the umask, atomic metrics.json with its prompt sources, a
job-wide request limit for API jobs (the HLE judge), and warnings when a table mixes prompt wordings."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from skills.cli.app import main
from skills.inference.client import build_request
from skills.inference.config import GenerateConfig

MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}]


def _cfg(server_type: str, model: str) -> GenerateConfig:
    c = GenerateConfig(prompt_config="generic/math", output_file="x")
    c.server.server_type, c.server.model = server_type, model
    return c


@pytest.mark.parametrize("model,role", [("o3-mini-20250131", "developer"), ("gpt-5", "developer"),
                                        ("gpt-4o", "system")])
def test_system_is_developer_for_openai_reasoning_models(model, role):
    _, body = build_request(_cfg("openai", model), MSGS)
    assert [m["role"] for m in body["messages"]] == [role, "user"]
    assert body["messages"][0]["content"] == "Be brief." and MSGS[0]["role"] == "system"
    _, vllm = build_request(_cfg("vllm", model), MSGS)  # only the OpenAI API renames it
    assert vllm["messages"][0]["role"] == "system"


def test_written_files_follow_the_umask(tmp_path):
    from skills.data.io import write_jsonl

    old = os.umask(0o022)
    try:
        write_jsonl(tmp_path / "a.jsonl", [{"x": 1}])
        os.umask(0o077)
        write_jsonl(tmp_path / "b.jsonl", [{"x": 1}])
    finally:
        os.umask(old)
    assert (tmp_path / "a.jsonl").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.jsonl").stat().st_mode & 0o777 == 0o600


def _results(root: Path, bench: str, sources) -> Path:
    d = root / "eval-results" / bench
    d.mkdir(parents=True)
    for seed, source in enumerate(sources):
        row = {"problem": "p", "generation": "\\boxed{A}", "expected_answer": "A", "predicted_answer": "A",
               "symbolic_correct": True}
        if source:
            row["prompt_source"] = source
        (d / f"output-rs{seed}.jsonl").write_text(json.dumps(row) + "\n")
    return d


def test_summarize_records_prompt_sources_and_warns_on_mixes(tmp_path, capsys):
    ref = "nemo-skills@0b012df8a09cd4730d31b16e90a0d8f13d145fb8"
    _results(tmp_path, "gpqa", [ref, ref])
    _results(tmp_path, "aime24", [ref, "skills-builtin"])
    assert main(["summarize_results", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "aime24 combines files made with different prompts" in err and "output-rs1.jsonl" in err
    assert "gpqa combines" not in err
    metrics = json.loads((tmp_path / "eval-results" / "metrics.json").read_text())
    assert set(metrics) == {"aime24", "gpqa"}  # the reference's layout, nothing added
    sources = json.loads((tmp_path / "eval-results" / "metrics.prompt_sources.json").read_text())
    assert sources["gpqa"] == {"prompt_source": ref}
    assert sorted(sources["aime24"]["prompt_source"]) == sorted([ref, "skills-builtin"])
    assert not list((tmp_path / "eval-results").glob(".*tmp"))


def test_summarize_warns_when_benchmarks_use_different_sets(tmp_path, capsys):
    _results(tmp_path, "gpqa", ["nemo-skills@abc1234"])
    _results(tmp_path, "math-500", ["skills-builtin"])
    _results(tmp_path, "aime24", [None])  # files written by the reference: nothing to compare
    assert main(["summarize_results", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "different prompt sets (nemo-skills: gpqa; skills-builtin: math-500)" in err


def test_api_judge_job_shares_max_concurrent_requests(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    data = tmp_path / "data" / "hle"
    data.mkdir(parents=True)
    (data / "text.jsonl").write_text('{"problem": "p", "expected_answer": "a"}\n')
    argv = ["eval", "--cluster=local", "--model=m", "--server_type=vllm", "--server_gpus=1",
            f"--output_dir={tmp_path / 'out'}", f"--data_dir={tmp_path / 'data'}",
            "--extra_judge_args=++inference.tokens_to_generate=4096 ++max_concurrent_requests=8",
            "--dry_run", "--dry_run_format=json"]

    def judge_limits(benchmarks):
        assert main([*argv, f"--benchmarks={benchmarks}"]) == 0
        plan = json.loads(capsys.readouterr().out)
        (judge,) = [j for j in plan["jobs"] if j["kind"] == "judge"]
        gen = [j for j in plan["jobs"] if j["kind"] == "generation"]
        limits = []
        script = judge["commands"][0].replace(") && (", ")\n(").replace(") || lane_rc=1; (", ")\n(")
        for line in script.replace(" --run ", "\n").splitlines():  # a lane's runs in one process
            if "skills.inference.generate" in line:
                toks = shlex.split(line.strip("() &pids+=$!"))
                limits.append([t for t in toks if t.startswith("++max_concurrent_requests=")][-1])
        return limits, gen

    limits, gen = judge_limits("hle:8")
    assert limits == ["++max_concurrent_requests=1"] * 8  # 8 seeds x 1 = the 8 asked for, not 64
    assert "max_concurrent_requests" not in gen[0]["commands"][0]  # a hosted server keeps per-command limits
    limits, _ = judge_limits("hle:16")
    assert len(limits) == 16 and set(limits) == {"++max_concurrent_requests=1"}
    assert main([*argv, "--benchmarks=hle:16"]) == 0
    judge = [j for j in json.loads(capsys.readouterr().out)["jobs"] if j["kind"] == "judge"][0]
    assert judge["commands"][0].count(" & pids+=") == 8  # at most 8 commands at a time
