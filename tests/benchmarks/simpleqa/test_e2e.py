"""``ns eval --benchmarks=mmlu,simpleqa:2`` end to end on the session's vLLM (CPU) server: the tiny
model answers (greedy, a few tokens), the same server judges SimpleQA, then ``ns summarize_results``
prints the reference's columns (mmlu is judged too: any ``--judge_*`` option judges every benchmark
of a run, as in the reference). Data from the mirror (MMLU's tar, SimpleQA's ``test`` split),
``++max_samples=4``.

The judge uses our own ``judge/simpleqa`` wording (``++prompt_set_dir=none ++prompt_source=own``):
the reference's prompt is about 3,300 tokens for the tiny model's tokenizer, more than the shared
server's 2,048-token context. The generation uses the reference's prompts. The metrics are checked
against a recomputation from the judged rows.
"""

from __future__ import annotations

import json
import math

import pytest

from tests.helpers.commands import ns
from tests.helpers.files import read_jsonl

pytestmark = pytest.mark.slow
ROWS = 4


def _channel(judgement) -> str:
    text = judgement.strip() if isinstance(judgement, str) else ""
    return {"A": "correct", "B": "incorrect", "C": "not_attempted"}.get(text[:1], "not_attempted")


def _pass_at_2(scores) -> float:
    return 1.0 - (math.comb(2 - sum(scores), 2) / math.comb(2, 2) if 2 - sum(scores) >= 2 else 0.0)


def test_mmlu_and_simpleqa_with_a_self_hosted_judge(vllm_server, mirror_dir, tmp_path):
    data = tmp_path / "data"
    res = ns("prepare_data", "mmlu", "simpleqa", "--split=test", f"--data_dir={data}", f"--mirror={mirror_dir}",
             cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    res = ns("eval", "--cluster=local", *vllm_server.address_args(), "--benchmarks=mmlu,simpleqa:2", "--split=test",
             f"--data_dir={data}", f"--output_dir={out}", f"++max_samples={ROWS}",
             "++inference.tokens_to_generate=16", "++inference.temperature=0.0",
             "--judge_server_type=vllm", f"--judge_server_address={vllm_server.base_url}",
             f"--judge_model={vllm_server.model}",
             "--extra_judge_args=++prompt_set_dir=none ++prompt_source=own ++inference.tokens_to_generate=4",
             cwd=tmp_path, env={"OPENAI_API_KEY": "", "SKILLS_PROMPT_SOURCE": ""})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    results = out / "eval-results"

    # mmlu: graded by the multichoice grader, the reference's prompt
    inputs = read_jsonl(data / "mmlu" / "test.jsonl")[:ROWS]
    rows = read_jsonl(results / "mmlu" / "output.jsonl")
    assert [{k: r[k] for k in src} for r, src in zip(rows, inputs)] == inputs and len(rows) == ROWS
    assert all(isinstance(r["generation"], str) and "symbolic_correct" in r for r in rows)
    assert all(r["prompt_source"].startswith("nemo-skills@") for r in rows)

    # simpleqa: two seeds, each judged by the same server into `judgement`
    questions = [r["question"] for r in read_jsonl(data / "simpleqa" / "test.jsonl")[:ROWS]]
    judged = []
    for seed in (0, 1):
        raw = read_jsonl(out / "tmp-eval-results" / "simpleqa" / f"output-rs{seed}.jsonl")
        got = read_jsonl(results / "simpleqa" / f"output-rs{seed}.jsonl")
        assert [r["question"] for r in got] == [r["question"] for r in raw] == questions
        assert all(isinstance(r["judgement"], str) and r["generation"] == g["generation"] for r, g in zip(got, raw))
        assert all(r["judgement_prompt_source"] == "skills-builtin" for r in got)
        judged.append(got)
    metrics = json.loads((results / "simpleqa" / "metrics.json").read_text())["simpleqa"]
    channels = [[_channel(judged[s][i]["judgement"]) for s in (0, 1)] for i in range(ROWS)]
    for name in ("correct", "incorrect", "not_attempted"):
        avg = sum(sum(c == name for c in ch) / 2 for ch in channels) / ROWS * 100
        best = sum(_pass_at_2([int(c == name) for c in ch]) for ch in channels) / ROWS * 100
        assert metrics["pass@1[avg-of-2]"][name] == pytest.approx(avg)
        assert metrics["pass@2"][name] == pytest.approx(best)
    avg = metrics["pass@1[avg-of-2]"]
    attempted = (avg["correct"] + avg["incorrect"]) / 100
    accuracy = avg["correct"] / 100 / attempted if attempted else 0.0
    assert avg["accuracy_given_attempted"] == pytest.approx(100 * accuracy)
    assert avg["f1"] == pytest.approx(100 * (2 * accuracy * avg["correct"] / 100 / (accuracy + avg["correct"] / 100)
                                             if accuracy + avg["correct"] else 0.0))

    # the tables, as `ns summarize_results` prints them
    res = ns("summarize_results", str(results), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    headers = {}
    for title, header in zip(res.stdout.splitlines(), res.stdout.splitlines()[1:]):
        if header.startswith("evaluation_mode"):
            headers[title.strip("- ")] = [c.strip() for c in header.split("|")]
    # a --judge_* option judges every benchmark of the run, as in the reference: mmlu gains judge_correct
    # (our judge/generic prompt, so its table is marked as our wording)
    assert headers["mmlu"] == ["evaluation_mode", "num_entries", "avg_tokens", "gen_seconds", "judge_correct",
                               "symbolic_correct", "no_answer", "prompt_wording"]
    assert headers["mmlu-math"] == headers["mmlu"]  # the first questions are abstract algebra: category math
    assert headers["simpleqa"] == ["evaluation_mode", "num_entries", "avg_tokens", "gen_seconds", "correct",
                                   "incorrect", "not_attempted", "f1", "accuracy_given_attempted", "prompt_wording"]
