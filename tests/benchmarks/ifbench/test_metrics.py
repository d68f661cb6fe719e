"""Metric type ``if`` on hand-computed folders (eval-metrics.md 8; the ifeval conformance data is
compared in test_conformance.py).

Folder: 3 prompts x 2 seeds; S/L = strict/loose follow lists, 1 = followed.

    prompt  instructions   rs0 S / L        rs1 S / L
    p1      2              10 / 11          11 / 11
    p2      1              0  / 1           0  / 0
    p3      3              110 / 111        000 / 100

Prompt scores are binary (unbiased pass@k over both seeds). Instruction scores are counts: the best
of the first k files, unless every count of that prompt is 0/1 (then binary: p2 loose is [1, 0], so
its pass@1 is 0.5, not the first file's 1).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl

from skills.metrics.summarize import summarize_results
from skills.metrics.types import make_scorer, metric_type_for

IDS = {"p1": ["a:x", "a:y"], "p2": ["a:x"], "p3": ["a:x", "a:y", "a:z"]}
FOLLOW = {  # prompt -> per seed (strict, loose)
    "p1": [("10", "11"), ("11", "11")],
    "p2": [("0", "1"), ("0", "0")],
    "p3": [("110", "111"), ("000", "100")],
}
TOKENS = {"p1": [100, 300], "p2": [200, 400], "p3": [50, 150]}


def _eval(bits: str, prompt: str) -> dict:
    follow = [b == "1" for b in bits]
    return {"follow_all_instructions": all(follow), "follow_instruction_list": follow,
            "instruction_id_list": IDS[prompt], "prompt": prompt, "response": "r"}


def _row(prompt: str, seed: int) -> dict:
    strict, loose = FOLLOW[prompt][seed]
    ids = IDS[prompt] if seed == 0 else IDS[prompt][:1]  # only the first file's ids are counted
    return {"key": prompt, "prompt": prompt, "instruction_id_list": ids, "response": "r",
            "num_generated_tokens": TOKENS[prompt][seed], "loose_eval": _eval(loose, prompt),
            "strict_eval": _eval(strict, prompt)}


def _folder(tmp_path: Path, seeds: int = 2, name: str = "ifbench") -> Path:
    bench = tmp_path / "eval-results" / name
    bench.mkdir(parents=True)
    for seed in range(seeds):
        rows = [_row(p, seed) for p in FOLLOW]
        target = bench / (f"output-rs{seed}.jsonl" if seeds > 1 else "output.jsonl")
        target.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def _metrics(tmp_path: Path, **kw):
    text, path = summarize_results(str(tmp_path / "eval-results"), **kw)
    return text, json.loads(path.read_text())


def test_accuracies_counts_and_pass_at_k(tmp_path):
    _, got = _metrics(_folder(tmp_path))
    m = got["ifbench"]
    assert list(m) == ["pass@1", "pass@2", "pass@1[avg-of-2]"]
    expected = {  # strict prompt / instruction, loose prompt / instruction: hand sums / 3 prompts or 6 instructions
        "pass@1": (0.5 / 3, 3 / 6, 2 / 3, 5.5 / 6),
        "pass@2": (1 / 3, 4 / 6, 3 / 3, 6 / 6),
        "pass@1[avg-of-2]": (0.5 / 3, 2.5 / 6, 2 / 3, 4.5 / 6),
    }
    for mode, (ps, ins, pl, il) in expected.items():
        got_mode = m[mode]
        assert got_mode["num_prompts"] == 3 and got_mode["num_instructions"] == 6
        assert got_mode["prompt_strict_accuracy"] == pytest.approx(100 * ps)
        assert got_mode["instruction_strict_accuracy"] == pytest.approx(100 * ins)
        assert got_mode["prompt_loose_accuracy"] == pytest.approx(100 * pl)
        assert got_mode["instruction_loose_accuracy"] == pytest.approx(100 * il)
        assert got_mode["average_score"] == pytest.approx(25 * (ps + ins + pl + il))
        assert got_mode["num_entries"] == 3 and got_mode["avg_tokens"] == 200  # (200 + 300 + 100) / 3
    assert m["pass@1"]["average_score"] == pytest.approx(56.25)
    assert m["pass@1[avg-of-2]"]["average_score"] == pytest.approx(50.0)


def test_key_order_and_statistics_pool_strict_and_loose(tmp_path):
    _, got = _metrics(_folder(tmp_path))
    mode = got["ifbench"]["pass@1[avg-of-2]"]
    assert list(mode) == [
        "num_prompts", "num_instructions", "average_score", "prompt_strict_accuracy",
        "instruction_strict_accuracy", "prompt_loose_accuracy", "instruction_loose_accuracy", "num_entries",
        "avg_tokens", "reasoning_tokens_statistics", "answer_tokens_statistics", "prompt_statistics",
        "instruction_statistics"]
    r2 = math.sqrt(2)
    # 6 lists per score: 3 strict + 3 loose. prompt runs: (0+0+0+1+1+1)/6, (1+0+0+1+0+0)/6
    assert mode["prompt_statistics"] == pytest.approx({
        "avg": 2.5 / 6, "std_dev_across_runs": (1 / 6) / r2, "avg_sample_std_dev": 3 / r2 / 6,
        "std_err_across_runs": (1 / 6) / 2})
    # instruction runs (raw counts): (1+0+2+2+1+3)/6, (2+0+0+2+0+1)/6; per-list |a-b| = 1,0,2,0,1,2
    assert mode["instruction_statistics"] == pytest.approx({
        "avg": 7 / 6, "std_dev_across_runs": (4 / 6) / r2, "avg_sample_std_dev": 6 / r2 / 6,
        "std_err_across_runs": (4 / 6) / 2})
    assert all(isinstance(mode[k], int) for k in ("num_prompts", "num_instructions", "num_entries"))


def test_table_has_no_plus_minus_and_no_majority(tmp_path):
    text, _ = _metrics(_folder(tmp_path))
    lines = text.split("\n")
    header = ("evaluation_mode  | num_prompts | num_instructions | average_score | prompt_strict_accuracy | "
              "instruction_strict_accuracy | prompt_loose_accuracy | instruction_loose_accuracy | num_entries | "
              "avg_tokens")
    assert lines[1] == header
    assert lines[0] == " ifbench ".center(len(header), "-")
    assert lines[2].split(" | ") == ["pass@1[avg-of-2]", "3          ", "6               ", "50.00%       ",
                                     "16.67%                ", "41.67%                     ",
                                     "66.67%               ", "75.00%                    ", "3          ",
                                     "200       "]
    assert lines[3].startswith("pass@2           | 3           | 6                | 75.00%        | 33.33%")
    assert lines[4:] == ["", "", ""] and "±" not in text and "majority" not in text


def test_greedy_and_max_seq_len(tmp_path):
    _folder(tmp_path, seeds=1)
    _, plain = _metrics(tmp_path)
    assert list(plain["ifbench"]) == ["pass@1"]
    # rs0 alone: strict prompts 0/3, instructions 3/6; loose prompts 3/3, instructions 6/6
    assert plain["ifbench"]["pass@1"]["instruction_strict_accuracy"] == pytest.approx(50.0)
    assert plain["ifbench"]["pass@1"]["instruction_loose_accuracy"] == pytest.approx(100.0)
    text, cut = _metrics(tmp_path, max_seq_len=99)  # p1 (100 tokens) and p2 (200) follow nothing now
    assert text.startswith("-") and "Metrics for Max Sequence Length 99" in text.split("\n")[0]
    first = cut["ifbench"]["pass@1"]
    assert first["num_instructions"] == 6  # still counted, as not followed
    assert first["prompt_loose_accuracy"] == pytest.approx(100 / 3)  # p3 only
    assert first["instruction_loose_accuracy"] == pytest.approx(50.0)  # p3's 3 of 6
    assert first["instruction_strict_accuracy"] == pytest.approx(100 / 3)  # p3's 2 of 6
    assert first["prompt_strict_accuracy"] == 0.0


def test_metric_type_lookup():
    assert metric_type_for("ifbench") == "if"
    assert metric_type_for("ifeval") == "if"  # the ifeval package declares it
    assert type(make_scorer("if")).__name__ == "IFScorer"  # declared by the package, not "not supported yet"


def test_rows_without_evals_are_one_clear_error(tmp_path):
    _folder(tmp_path, seeds=1)
    path = tmp_path / "eval-results" / "ifbench" / "output.jsonl"
    rows = read_jsonl(path)
    del rows[1]["strict_eval"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    from skills.config.errors import UsageError

    with pytest.raises(UsageError, match="line 2: a row lacks the field 'strict_eval'"):
        _metrics(tmp_path)
