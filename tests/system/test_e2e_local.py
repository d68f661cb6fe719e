"""End to end on this machine: the `ns` command, the local executor and real vLLM (CPU) servers.

The tiny model (scripts/make_tiny_model.py) answers a known set of toy problems right
(``trained_outcomes.json``), so accuracies are exact. The five real benchmarks run on the first
rows of their mirror-prepared data: the model cannot solve them; these runs prove the plumbing
(prompts, grading, metrics, tables) on the real data layouts.

Servers: the in-job test and the HLE judge start vLLM inside their jobs (``--server_gpus``), which
is what they prove; ``ns generate`` and HLE's generation use the session's shared server through
``--server_address``, as a user's running endpoint (tests/helpers/vllm.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.commands import ns
from tests.helpers.files import read_jsonl
from tests.helpers.paths import FIXTURES, TOY_DATA, TOY_DATASETS
from tests.helpers.vllm import cpu_cluster_yaml, cpu_server_args

pytestmark = pytest.mark.slow

SERVER_ARGS = cpu_server_args(2048)
REAL = ["math-500", "aime24", "aime25", "gpqa", "mmlu-pro"]


def expected_accuracy(tiny_model: Path, bench: str, subset: str | None = None) -> float:
    outcomes = json.loads((tiny_model / "trained_outcomes.json").read_text())[bench]
    rows = {r["id"]: r for r in read_jsonl(TOY_DATA / bench / "test.jsonl")}
    ids = [i for i in outcomes if subset is None or rows[i].get("subset_for_metrics") == subset]
    return 100.0 * sum(outcomes[i]["correct"] for i in ids) / len(ids)


def test_ns_generate_through_vllm(vllm_server, tiny_model, toy_data_dir, tmp_path):
    out = tmp_path / "gen"
    res = ns("generate", "--cluster=local", *vllm_server.address_args(),
             f"--input_file={toy_data_dir / 'toy_math' / 'test.jsonl'}", f"--output_dir={out}", "--num_random_seeds=2",
             f"++prompt_config={TOY_DATASETS / 'prompt.yaml'}", "++inference.temperature=0.0",
             "++inference.tokens_to_generate=32", "++eval_type=math", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    outcomes = json.loads((tiny_model / "trained_outcomes.json").read_text())["toy_math"]
    inputs = read_jsonl(toy_data_dir / "toy_math" / "test.jsonl")
    for seed in (0, 1):
        rows = read_jsonl(out / f"output-rs{seed}.jsonl")
        assert [r["id"] for r in rows] == [r["id"] for r in inputs]  # every line once, input order
        assert (out / f"output-rs{seed}.jsonl.done").exists()
        for row in rows:
            assert row["generation"].strip() == outcomes[row["id"]]["generation"]
            assert row["symbolic_correct"] is outcomes[row["id"]]["correct"]
            assert row["num_generated_tokens"] > 0 and row["finish_reason"] == "stop"


def _prepare_real(tmp_path: Path, mirror_dir: Path, rows: int) -> Path:
    data = tmp_path / "data"
    res = ns("prepare_data", *REAL, f"--data_dir={data}", f"--mirror={mirror_dir}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    for bench in REAL:  # full counts are checked in test_prepare; keep the first rows for speed
        (split,) = list((data / bench).glob("*.jsonl"))
        split.write_text("".join(split.read_text().splitlines(keepends=True)[:rows]))
    for bench in ("toy_math", "toy_mcq"):
        (data / bench).mkdir()
        (data / bench / "test.jsonl").write_text((TOY_DATA / bench / "test.jsonl").read_text())
    return data


def test_ns_eval_in_job_server_toy_accuracy_and_five_benchmarks(
        vllm_python, tiny_model, toy_data_dir, mirror_dir, tmp_path):
    data = _prepare_real(tmp_path, mirror_dir, rows=3)
    out = tmp_path / "out"
    benches = ",".join(f"{b}:2" for b in ["toy_math", "toy_mcq", *REAL])
    res = ns("eval", f"--cluster={cpu_cluster_yaml(tmp_path, vllm_python)}", f"--model={tiny_model}",
             "--server_type=vllm", "--server_gpus=1", f"--server_args={SERVER_ARGS}",
             f"--benchmarks={benches}", f"--extra_datasets={TOY_DATASETS}", f"--data_dir={data}",
             f"--output_dir={out}", "++inference.temperature=0.0", "++inference.tokens_to_generate=32",
             cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    results = out / "eval-results"

    toy_math = json.loads((results / "toy_math" / "metrics.json").read_text())
    acc = expected_accuracy(tiny_model, "toy_math")
    assert acc == 75.0  # what the tiny model was trained for
    assert toy_math["toy_math"]["pass@1[avg-of-2]"]["symbolic_correct"] == pytest.approx(acc)
    assert toy_math["toy_math"]["pass@2"]["num_entries"] == 40
    mcq = json.loads((results / "toy_mcq" / "metrics.json").read_text())
    assert mcq["toy_mcq"]["majority@2"]["symbolic_correct"] == pytest.approx(expected_accuracy(tiny_model, "toy_mcq"))
    for subset in ("easy", "hard"):
        got = mcq[f"toy_mcq-{subset}"]["pass@1[avg-of-2]"]["symbolic_correct"]
        assert got == pytest.approx(expected_accuracy(tiny_model, "toy_mcq", subset))
    # the metrics job printed the table in the reference layout
    assert "pass@1[avg-of-2] | 40          |" in res.stdout and "| 75.00% ± 0.00%" in res.stdout

    for bench in REAL:
        metrics = json.loads((results / bench / "metrics.json").read_text())
        assert metrics[bench]["pass@1[avg-of-2]"]["num_entries"] == 3
        for seed in (0, 1):
            rows = read_jsonl(results / bench / f"output-rs{seed}.jsonl")
            assert len(rows) == 3 and all("symbolic_correct" in r and "predicted_answer" in r for r in rows)

    table = ns("summarize_results", str(results), f"--extra_datasets={TOY_DATASETS}", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    for bench in ["toy_math", "toy_mcq", *REAL]:
        assert f" {bench} " in table.stdout
    # without the folder defining the toy benchmarks they are skipped with a warning, the rest shown
    table = ns("summarize_results", str(results), cwd=tmp_path)
    assert table.returncode == 0 and "skipping toy_math" in table.stderr
    assert " toy_math " not in table.stdout and " gpqa " in table.stdout
    # a second run with the same settings finds everything done and generates nothing
    rerun = ["eval", f"--cluster={cpu_cluster_yaml(tmp_path, vllm_python)}", f"--model={tiny_model}",
             "--server_type=vllm", "--server_gpus=1", f"--benchmarks={benches}", f"--extra_datasets={TOY_DATASETS}",
             f"--data_dir={data}", f"--output_dir={out}", "--dry_run"]
    again = ns(*rerun, "++inference.temperature=0.0", "++inference.tokens_to_generate=32", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to generate" in again.stdout + again.stderr
    # with other settings (the default temperature) the finished outputs are neither kept nor added to
    other = ns(*rerun, cwd=tmp_path)
    assert other.returncode == 2 and "inference.temperature 0.0 -> 0.7" in other.stderr, other.stderr


def test_hle_with_self_hosted_judge(vllm_server, vllm_python, tiny_model, tmp_path):
    """Generation on the session's server (as a user's running endpoint), then the judge: a vLLM
    server started, used and stopped inside the judge job."""
    data = tmp_path / "data"
    res = ns("prepare_data", "hle", f"--data_dir={data}", f"--mirror={FIXTURES}",
             cwd=tmp_path, env={"HF_TOKEN": ""})
    assert res.returncode == 0, res.stderr
    text_rows = len(read_jsonl(data / "hle" / "text.jsonl"))
    out = tmp_path / "out"
    args = [f"--cluster={cpu_cluster_yaml(tmp_path, vllm_python)}", *vllm_server.address_args(),
            "--benchmarks=hle:2", f"--data_dir={data}", f"--output_dir={out}", f"--judge_model={tiny_model}", "--judge_server_type=vllm",
            "--judge_server_gpus=1", f"--judge_server_args={SERVER_ARGS}",
            "--extra_judge_args=++inference.tokens_to_generate=48", "++inference.tokens_to_generate=32"]
    res = ns("eval", *args, cwd=tmp_path, env={"OPENAI_API_KEY": ""})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    results = out / "eval-results" / "hle"
    for seed in (0, 1):
        raw = read_jsonl(out / "tmp-eval-results" / "hle" / f"output-rs{seed}.jsonl")
        judged = read_jsonl(results / f"output-rs{seed}.jsonl")
        assert len(judged) == len(raw) == text_rows
        assert [r["id"] for r in judged] == [r["id"] for r in raw]
        # the judge adds its verdict text and keeps the generation and its statistics
        assert all(isinstance(r["judgement"], str) and r["generation"] == g["generation"]
                   and r["num_generated_tokens"] == g["num_generated_tokens"] for r, g in zip(judged, raw))
    metrics = json.loads((results / "metrics.json").read_text())
    first = metrics["hle"]["pass@1[avg-of-2]"]
    assert first["num_entries"] == text_rows and "judge_correct" in first and "symbolic_correct" in first
    assert "judge_correct" in res.stdout
    # re-running judges nothing again
    stamp = {p: p.stat().st_mtime_ns for p in results.glob("output-rs*.jsonl")}
    again = ns("eval", *args, "--dry_run", cwd=tmp_path, env={"OPENAI_API_KEY": ""})
    assert again.returncode == 0, again.stderr
    assert "(judge)" not in again.stdout and "(generation)" not in again.stdout
    assert stamp == {p: p.stat().st_mtime_ns for p in results.glob("output-rs*.jsonl")}
