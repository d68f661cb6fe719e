"""``ns eval --benchmarks=ifeval:2,arena-hard`` end to end on the session's vLLM (CPU) server: the tiny
model answers, IFEval is graded in .venv-ifbench by Google's checker (by our stand-in where the
official code is not staged, as in CI: the first prompts use only instructions it implements),
Arena-Hard is judged by the same server through the pairwise judge (both orders;
``--judge_pipeline_kwargs``, so that only Arena-Hard is judged), then ``ns summarize_results`` prints both
tables with the reference's columns.

The data are the mirror's, prepared by ``ns prepare_data``; Arena-Hard's split is reordered so that
its shortest questions and baseline answers come first (the tiny model's context is 2,048 tokens),
and ``++max_samples`` keeps three of them. The tiny model writes no ``[[A>B]]`` verdicts, so its
score is None with every verdict counted invalid: the numbers themselves are checked on canned
judgements in test_metrics.py / test_judge.py.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.commands import ns
from tests.helpers.files import read_jsonl

pytestmark = pytest.mark.slow
SAMPLES = 3


def test_ns_eval_ifeval_and_arena_hard(vllm_server, ifeval_mirror, ifeval_python, tmp_path):
    data = tmp_path / "data"
    res = ns("prepare_data", "ifeval", "arena-hard", f"--data_dir={data}", f"--mirror={ifeval_mirror}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    split = data / "arena-hard" / "test.jsonl"
    lines = sorted(split.read_text().splitlines(keepends=True),
                   key=lambda ln: len(json.loads(ln)["question"]) + len(json.loads(ln)["baseline_answer"]))
    split.write_text("".join(lines))
    out = tmp_path / "out"
    res = ns("eval", "--cluster=local", *vllm_server.address_args(), "--benchmarks=ifeval:2,arena-hard",
             f"--data_dir={data}", f"--output_dir={out}", f"++max_samples={SAMPLES}",
             "++inference.tokens_to_generate=24", "++inference.temperature=0.0",
             # only arena-hard has a judge: --judge_pipeline_kwargs points it at the shared server (a
             # --judge_* option would give ifeval a judge step too, as in the reference)
             "--judge_pipeline_kwargs=" + json.dumps({"server_type": "vllm", "server_address": vllm_server.base_url,
                                                       "model": vllm_server.model}),
             "--extra_judge_args=++inference.tokens_to_generate=16",
             cwd=tmp_path, env={"NLTK_DATA": ""})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]

    ifeval = out / "eval-results" / "ifeval"
    for seed in (0, 1):
        rows = read_jsonl(ifeval / f"output-rs{seed}.jsonl")
        assert len(rows) == SAMPLES
        for row in rows:
            assert isinstance(row["response"], str) and "generation" not in row
            assert list(row)[-2:] == ["loose_eval", "strict_eval"]
            assert row["strict_eval"]["response"] == row["response"]
            assert len(row["strict_eval"]["follow_instruction_list"]) == len(row["instruction_id_list"])

    arena = out / "eval-results" / "arena-hard"
    judged = read_jsonl(arena / "output.jsonl")
    raw = read_jsonl(out / "tmp-eval-results" / "arena-hard" / "output.jsonl")
    assert len(judged) == len(raw) == SAMPLES
    for row, gen in zip(judged, raw):
        assert isinstance(row["judgement-gen-base"], str) and isinstance(row["judgement-base-gen"], str)
        assert row["judgement"] == "" and row["generation"] == gen["generation"]
        assert row["num_generated_tokens"] == gen["num_generated_tokens"]  # the candidate's, not the judge's
        assert row["judgement_prompt_source"].startswith("nemo-skills@")  # the reference's judge/arena

    res = ns("summarize_results", str(out / "eval-results"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert ("evaluation_mode  | num_prompts | num_instructions | average_score | prompt_strict_accuracy | "
            "instruction_strict_accuracy | prompt_loose_accuracy | instruction_loose_accuracy | num_entries | "
            "avg_tokens") in res.stdout
    assert "evaluation_mode | num_entries | score | 95_CI | invalid_scores | avg_tokens | gen_seconds" in res.stdout
    metrics = json.loads((out / "eval-results" / "metrics.json").read_text())
    arena_m = metrics["arena-hard"]["pass@1"]
    assert list(arena_m)[:4] == ["num_entries", "score", "95_CI", "invalid_scores"]
    assert arena_m["num_entries"] == SAMPLES
    assert list(metrics["ifeval"]) == ["pass@1[avg-of-2]", "pass@2"] or "pass@2" in metrics["ifeval"]
    # a verdict the tiny model happens to write is counted; every other one is invalid
    from skills.benchmarks.arena_hard.metrics import aggregate, verdict

    pairs = [(verdict(r["judgement-gen-base"]), verdict(r["judgement-base-gen"])) for r in judged]
    assert arena_m["invalid_scores"] == aggregate(pairs)["invalid_scores"]
    assert arena_m["score"] == aggregate(pairs)["score"]
