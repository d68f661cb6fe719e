"""Arena-Hard's judge stage through ``ns eval`` against stub endpoints: the pairwise judge module asks
for both orders with the reference's ``judge/arena`` prompt, writes the reference's keys, and the
table comes out of the judgements; plus the plan-time choices (module, prompt, judge defaults)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from skills.benchmarks.arena_hard.metrics import aggregate
from skills.pipeline.judge import JudgeOptions, judge_module, judge_settings
from skills.registry.benchmarks import get_benchmark
from tests.helpers.files import read_jsonl
from tests.helpers.paths import NS
from tests.helpers.stub_server import StubProcess

ROWS = 4


@pytest.fixture(scope="module")
def arena_data(mirror_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    res = subprocess.run([NS, "prepare_data", "arena-hard", f"--data_dir={data}", f"--mirror={mirror_dir}"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    split = data / "arena-hard" / "test.jsonl"
    split.write_text("".join(split.read_text().splitlines(keepends=True)[:ROWS]))
    return data


def test_both_orders_are_judged_with_the_reference_prompt(arena_data, tmp_path):
    out = tmp_path / "out"
    record = tmp_path / "judge.jsonl"
    with StubProcess(answer="CANDIDATE ANSWER {n}") as gen, \
            StubProcess(answer="Assistant A is slightly better: [[A>B]]", record=record) as judge:
        res = subprocess.run(
            [NS, "eval", "--cluster=local", "--server_type=openai", f"--server_address={gen.base_url}",
             "--model=stub-model", "--judge_server_type=openai", f"--judge_server_address={judge.base_url}",
             "--judge_model=stub-judge", "--benchmarks=arena-hard", f"--data_dir={arena_data}",
             f"--output_dir={out}"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "OPENAI_API_KEY": "sk-x"})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    inputs = read_jsonl(arena_data / "arena-hard" / "test.jsonl")
    judged = read_jsonl(out / "eval-results" / "arena-hard" / "output.jsonl")
    assert len(judged) == ROWS
    for row, src in zip(judged, inputs):
        assert list(row)[:3] == ["judgement-gen-base", "judgement-base-gen", "judgement"]
        assert row["judgement-gen-base"] == row["judgement-base-gen"] == "Assistant A is slightly better: [[A>B]]"
        assert row["judgement"] == "" and row["generation"].startswith("CANDIDATE ANSWER")
        assert {k: row[k] for k in src} == src
        assert row["generation_time"] >= 0 and row["judgement_prompt_source"].startswith("nemo-skills@")

    sent = [json.loads(line)["body"] for line in record.read_text().splitlines()]
    assert len(sent) == 2 * ROWS
    by_question = {}
    for body in sent:
        system, user = body["messages"][0], body["messages"][-1]["content"]
        assert system["role"] == "system" and "[[A>>B]]" in system["content"]  # the reference's judge/arena
        by_question.setdefault(user.split("<|The Start of Assistant A's Answer|>")[0], []).append(user)
    assert len(by_question) == ROWS
    for row in judged:
        pair = next(v for k, v in by_question.items() if row["question"] in k)
        a_first = [u.split("<|The Start of Assistant A's Answer|>\n")[1].startswith(row["generation"]) for u in pair]
        assert sorted(a_first) == [False, True]  # once as answer A, once as answer B
        assert any(row["baseline_answer"] in u.split("<|The Start of Assistant B's Answer|>")[1] for u in pair)

    metrics = json.loads((out / "eval-results" / "arena-hard" / "metrics.json").read_text())["arena-hard"]["pass@1"]
    expected = aggregate([("A>B", "A>B")] * ROWS)  # a win as A, a loss as B: 50%
    assert (metrics["score"], metrics["95_CI"], metrics["invalid_scores"]) == (
        expected["score"], expected["95_CI"], 0)
    assert metrics["score"] == 50.0
    assert "evaluation_mode | num_entries | score  | 95_CI" in res.stdout


def test_plan_uses_the_pairwise_judge(arena_data):
    spec = get_benchmark("arena-hard")
    assert spec.judge.generation_module == "skills.inference.pairwise_judge"
    assert judge_module(JudgeOptions(), spec) == "skills.inference.pairwise_judge"
    # --judge_generation_module still wins; the reference's module name maps to ours
    assert judge_module(JudgeOptions(generation_module="x.y"), spec) == "x.y"
    assert judge_module(JudgeOptions(generation_module="nemo_skills.inference.eval.arena_judge")) == \
        "skills.inference.pairwise_judge"
    prompts = next((arena_data / ".prompt-sets" / "nemo-skills").iterdir())
    judge = judge_settings(spec, JudgeOptions(), [], str(prompts))
    assert [o.token for o in judge.settings] == ["++prompt_config=judge/arena", "++generation_key=judgement"]
    assert (judge.server.model, judge.server.server_type) == ("gpt-4.1", "openai")


def test_pairwise_judge_refuses_rows_without_answers(tmp_path):
    from pathlib import Path

    from skills.config.errors import UsageError
    from skills.inference.pairwise_judge import PairwiseJudgeConfig, PairwiseJudgeTask

    cfg = PairwiseJudgeConfig(prompt_config="judge/arena", generation_key="judgement")
    task = PairwiseJudgeTask(cfg)
    with pytest.raises(UsageError, match="needs a text 'baseline_answer'"):
        task.prepare([(1, {"question": "q", "generation": "g"})], Path("in.jsonl"))
