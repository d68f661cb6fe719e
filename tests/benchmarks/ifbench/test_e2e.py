"""``ns eval --benchmarks=ifbench:2`` end to end: mirror-prepared data (12 of its rows), the tiny model
on the session's vLLM (CPU) server, grading in .venv-ifbench with the staged NLTK data, metrics and table.

The tiny model's answers are letter runs ("A A D D"); rows with checks such answers can pass
(title case, at most three vowels) sit beside rows they fail. The test checks the layout and that
metrics.json equals a recomputation from the graded rows. Greedy, as the other end-to-end tests:
seeded sampling with chunked prefill crashes vLLM's CPU worker.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import List

import pytest

from tests.helpers.commands import ns
from tests.helpers.files import read_jsonl

pytestmark = pytest.mark.slow
ROWS = 12
# Checks the tiny model's letter runs ("A A A D D") can pass, so that not every score is 0.
EASY = ("format:title_case", "words:vowel")


def _pick(lines: List[str]) -> List[str]:
    """The first rows with several instructions, then rows with an instruction gibberish can follow."""
    several = [ln for ln in lines if len(json.loads(ln)["instruction_id_list"]) > 1][:3]
    easy = [ln for ln in lines if set(json.loads(ln)["instruction_id_list"]) & set(EASY)]
    return several + easy


def _pass_at_k(scores: List[int], k: int) -> float:
    """The reference's rule: unbiased estimator for 0/1 scores, else the best of the first k."""
    if all(s in (0, 1) for s in scores):
        n, c = len(scores), sum(scores)
        return 1.0 - (math.comb(n - c, k) / math.comb(n, k) if n - c >= k else 0.0)
    return float(max(scores[:k]))


def _recompute(files: List[List[dict]]) -> dict:
    num_instructions = sum(len(r["instruction_id_list"]) for r in files[0])
    out = {}
    for mode, agg in (("pass@2", lambda s: _pass_at_k(s, 2)), ("pass@1[avg-of-2]", lambda s: sum(s) / 2)):
        acc = {}
        for ev in ("strict", "loose"):
            prompt = sum(agg([int(f[i][f"{ev}_eval"]["follow_all_instructions"]) for f in files])
                         for i in range(ROWS))
            instr = sum(agg([sum(f[i][f"{ev}_eval"]["follow_instruction_list"]) for f in files]) for i in range(ROWS))
            acc[f"prompt_{ev}_accuracy"] = prompt / ROWS * 100
            acc[f"instruction_{ev}_accuracy"] = instr / num_instructions * 100
        out[mode] = {"num_prompts": ROWS, "num_instructions": num_instructions,
                     "average_score": sum(acc.values()) / 4, **acc}
    return out


def test_ns_eval_ifbench_two_seeds(vllm_server, mirror_dir, ifbench_python, tmp_path):
    data = tmp_path / "data"
    res = ns("prepare_data", "ifbench", f"--data_dir={data}", f"--mirror={mirror_dir}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    split = data / "ifbench" / "test.jsonl"
    split.write_text("".join(_pick(split.read_text().splitlines(keepends=True))))
    inputs = read_jsonl(split)
    assert len(inputs) == ROWS
    out = tmp_path / "out"
    res = ns("eval", "--cluster=local", *vllm_server.address_args(), "--benchmarks=ifbench:2",
             f"--data_dir={data}", f"--output_dir={out}", "++inference.tokens_to_generate=24",
             "++inference.temperature=0.0", cwd=tmp_path, env={"NLTK_DATA": ""})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    results = out / "eval-results" / "ifbench"
    files = []
    for seed in (0, 1):
        path = results / f"output-rs{seed}.jsonl"
        assert Path(f"{path}.done").exists()
        rows = read_jsonl(path)
        assert [r["key"] for r in rows] == [r["key"] for r in inputs]
        for row, src in zip(rows, inputs):
            assert {k: row[k] for k in src} == src and isinstance(row["response"], str)
            assert "generation" not in row  # ++generation_key=response, as the reference
            assert list(row)[-2:] == ["loose_eval", "strict_eval"]
            for ev in ("loose_eval", "strict_eval"):
                assert row[ev]["response"] == row["response"]
                assert len(row[ev]["follow_instruction_list"]) == len(src["instruction_id_list"])
        files.append(rows)

    metrics = json.loads((results / "metrics.json").read_text())["ifbench"]
    for mode, expected in _recompute(files).items():
        got = {k: metrics[mode][k] for k in expected}
        assert got == pytest.approx(expected), mode
        assert metrics[mode]["num_entries"] == ROWS
    assert "prompt_statistics" in metrics["pass@1[avg-of-2]"]
    assert metrics["pass@2"]["num_instructions"] == sum(len(r["instruction_id_list"]) for r in inputs)
    header = "evaluation_mode  | num_prompts | num_instructions | average_score | prompt_strict_accuracy"
    assert header in res.stdout and f"pass@2           | {ROWS}          |" in res.stdout
    assert 0 < metrics["pass@2"]["average_score"] < 100  # the easy checks pass, the others do not
