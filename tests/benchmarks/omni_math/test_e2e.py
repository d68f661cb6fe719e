"""``ns eval --benchmarks=gsm8k:2,omni-math`` with the LLM math judge, end to end: the tiny model
on the session's vLLM (CPU) server answers, the math grader grades, the same server is the
self-hosted judge (``--judge_generation_type=math_judge``: gsm8k opts in, omni-math has it by
default), then ``ns summarize_results`` prints the reference's columns for both.

Both benchmarks get rows the tiny model answers (toy sums, asked with the toy prompt, greedy): most
answers equal the expected text and are decided without the model, as the reference does; a wrong
sum and a ``26.0`` expected answer go to the judge model (whose verdict on them is whatever it says,
and is checked for consistency, not value).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from skills.evaluation.judge import is_correct_judgement
from skills.inference.math_judge import IDENTICAL, NO_ANSWER
from tests.helpers.commands import ns
from tests.helpers.files import read_jsonl
from tests.helpers.paths import FIXTURES, TOY_DATA

pytestmark = pytest.mark.slow
PIN = "0b012df8a09cd4730d31b16e90a0d8f13d145fb8"
TOY_PROMPT = FIXTURES / "toy" / "prompt.yaml"  # the tiny model answers the problem text verbatim


def _data(tmp_path: Path, reference_prompt_sets: Path) -> Path:
    data = tmp_path / "data"
    res = ns("prepare_data", "omni-math", f"--data_dir={data}", f"--mirror={FIXTURES}", "--no-prompts", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (data / ".prompt-sets").symlink_to(reference_prompt_sets)
    toy = read_jsonl(TOY_DATA / "toy_math" / "test.jsonl")[:6]  # rows 00-05; the model gets 03 wrong
    omni = read_jsonl(data / "omni-math" / "test.jsonl")[0]
    rows = []
    for t in toy:  # the omni-math schema, toy problems
        rows.append({**omni, "problem": t["problem"], "expected_answer": t["expected_answer"]})
    rows[4]["expected_answer"] += ".0"  # 26.0: symbolically equal to the model's 26, not the same text
    (data / "omni-math" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (data / "gsm8k").mkdir()
    (data / "gsm8k" / "test.jsonl").write_text("".join(json.dumps(t) + "\n" for t in toy[:4]))
    return data


def test_gsm8k_and_omni_math_with_a_self_hosted_math_judge(vllm_server, reference_prompt_sets, tiny_model,
                                                              tmp_path):
    data = _data(tmp_path, reference_prompt_sets)
    out = tmp_path / "out"
    res = ns("eval", "--cluster=local", *vllm_server.address_args(), "--benchmarks=gsm8k:2,omni-math",
             f"--data_dir={data}", f"--output_dir={out}", f"++prompt_config={TOY_PROMPT}",
             "++inference.temperature=0.0", "++inference.tokens_to_generate=16",
             "--judge_generation_type=math_judge", "--judge_server_type=vllm",
             f"--judge_server_address={vllm_server.base_url}", f"--judge_model={vllm_server.model}",
             "--extra_judge_args=++inference.tokens_to_generate=32",
             cwd=tmp_path, env={"OPENAI_API_KEY": ""})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]

    results = out / "eval-results"
    asked = 0
    for bench, files in (("gsm8k", ["output-rs0.jsonl", "output-rs1.jsonl"]), ("omni-math", ["output.jsonl"])):
        for name in files:
            raw = read_jsonl(out / "tmp-eval-results" / bench / name)
            judged = read_jsonl(results / bench / name)
            assert Path(f"{results / bench / name}.done").exists()
            assert [r["problem"] for r in judged] == [r["problem"] for r in raw]
            for j, r in zip(judged, raw):
                assert {k: j[k] for k in r} == r  # the generation, its grading and statistics kept
                assert j["judgement_prompt_source"] == f"nemo-skills@{PIN}"
                if r["predicted_answer"] in (None, ""):
                    assert j["judgement"] == NO_ANSWER
                elif r["predicted_answer"].strip() == str(r["expected_answer"]).strip():
                    assert j["judgement"] == IDENTICAL
                else:  # the model was asked
                    assert j["judgement"] not in (NO_ANSWER, IDENTICAL)
                    asked += 1
    assert asked >= 3  # toy_math-03 in each gsm8k seed and in omni-math, and omni-math's 26 vs 26.0

    omni = read_jsonl(results / "omni-math" / "output.jsonl")
    assert omni[4]["predicted_answer"] == "26" and omni[4]["symbolic_correct"] is True
    metrics = json.loads((results / "omni-math" / "metrics.json").read_text())["omni-math"]["pass@1"]
    judge = [is_correct_judgement(r["judgement"]) for r in omni]
    symbolic = [r["symbolic_correct"] for r in omni]
    assert metrics["judge_correct"] == pytest.approx(100 * sum(judge) / 6)
    assert metrics["symbolic_correct"] == pytest.approx(100 * sum(symbolic) / 6)
    assert metrics["both_correct"] == pytest.approx(100 * sum(a and b for a, b in zip(judge, symbolic)) / 6)
    assert metrics["any_correct"] == pytest.approx(100 * sum(a or b for a, b in zip(judge, symbolic)) / 6)
    disagree = [i + 1 for i, (a, b) in enumerate(zip(judge, symbolic)) if a != b]
    listing = (results / "omni-math" / "judge-disagreements.txt").read_text()
    assert [ln.split(":")[0] for ln in listing.splitlines() if ln.startswith("== ")] == \
        [f"== output.jsonl line {i}" for i in disagree]

    summary = ns("summarize_results", str(out), cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    text = summary.stdout
    print(text, listing, sep="\n")  # shown with -s: the tables and the disagreements as a user sees them
    assert " gsm8k " in text and " omni-math " in text
    blocks = {b.splitlines()[0].strip("- "): b.splitlines() for b in text.split("\n\n\n") if b.strip().startswith("-")}
    assert [ln.split(" |")[0].strip() for ln in blocks["gsm8k"][2:]] == ["pass@1[avg-of-2]", "majority@2", "pass@2"]
    assert [ln.split(" |")[0].strip() for ln in blocks["omni-math"][2:]] == ["pass@1"]
    for name in ("gsm8k", "omni-math"):
        assert re.fullmatch(r"evaluation_mode +\| num_entries \| avg_tokens +\| gen_seconds +\| judge_correct +"
                            r"\| symbolic_correct +\| no_answer *", blocks[name][1]), blocks[name][1]
