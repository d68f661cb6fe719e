"""Metric type ``simpleqa`` on a hand-computed folder (4 questions x 2 seeds of judge verdicts).

    question   rs0        rs1      verdicts (C = correct, I = incorrect, N = not attempted)
    q1         "A"        "A"      C C
    q2         "B"        "A"      I C
    q3         "C"        "B"      N I
    q4         " b"       "A."     N C    (lower-case b is no verdict: not attempted)

pass@1[avg-of-2]: correct 2/4, incorrect 1/4, not attempted 1/4 -> accuracy given attempted
0.5 / 0.75, f1 = 2 * (2/3) * 0.5 / (2/3 + 0.5) = 4/7. pass@2 (each channel's own pass@k): correct
3/4, incorrect 2/4, not attempted 2/4 -> accuracy 0.6, f1 = 2/3. majority@2 votes on the verdict
text; every 1-1 tie averages the tied scores: correct 2/4, incorrect 1/4.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skills.benchmarks.simpleqa.metrics import SimpleQAScorer, derived_scores, verdict
from skills.metrics.summarize import summarize_results
from skills.metrics.types import make_scorer, metric_type_for

JUDGED = {"q1": ["A", "A"], "q2": ["B", "A"], "q3": ["C", "B"], "q4": [" b", "A."]}
TOKENS = {"q1": [10, 30], "q2": [20, 40], "q3": [5, 15], "q4": [7, 9]}


def folder(tmp_path: Path) -> Path:
    bench = tmp_path / "eval-results" / "simpleqa"
    bench.mkdir(parents=True)
    for seed in (0, 1):
        rows = [{"id": q, "question": q, "expected_answer": "x", "generation": "g", "judgement": j[seed],
                 "num_generated_tokens": TOKENS[q][seed]} for q, j in JUDGED.items()]
        (bench / f"output-rs{seed}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path / "eval-results"


@pytest.mark.parametrize("text,want", [
    ("A", "correct"), ("  A  ", "correct"), ("A: CORRECT", "correct"), ("B", "incorrect"), ("C", "not_attempted"),
    ("a", "not_attempted"), ("", "not_attempted"), ("   ", "not_attempted"), (None, "not_attempted"),
    ("The answer is A", "not_attempted"), ("<think>A</think>A", "not_attempted"), (3, "not_attempted"),
])
def test_verdicts(text, want):
    assert verdict(text) == want
    scores = SimpleQAScorer().score_dict({"judgement": text})
    assert scores == {name: name == want for name in ("correct", "incorrect", "not_attempted")}


def test_derived_scores():
    assert derived_scores(50.0, 25.0) == pytest.approx({"f1": 400 / 7, "accuracy_given_attempted": 200 / 3})
    assert derived_scores(0.0, 0.0) == {"f1": 0.0, "accuracy_given_attempted": 0.0}  # nothing attempted
    assert derived_scores(0.0, 40.0) == {"f1": 0.0, "accuracy_given_attempted": 0.0}


def test_metrics_json_and_table(tmp_path):
    assert metric_type_for("simpleqa") == "simpleqa" and isinstance(make_scorer("simpleqa"), SimpleQAScorer)
    text, path = summarize_results(str(folder(tmp_path)))
    m = json.loads(path.read_text())["simpleqa"]
    assert set(m) == {
        "pass@1", "pass@1[avg-of-2]", "pass@2", "majority@2"}
    avg = m["pass@1[avg-of-2]"]
    assert avg["num_entries"] == 4 and avg["avg_tokens"] == 17
    assert (avg["correct"], avg["incorrect"], avg["not_attempted"]) == (50.0, 25.0, 25.0)
    assert avg["f1"] == pytest.approx(400 / 7) and avg["accuracy_given_attempted"] == pytest.approx(200 / 3)
    assert avg["correct_statistics"]["std_dev_across_runs"] == pytest.approx(0.5 ** 0.5 / 2)  # runs 0.25, 0.75
    assert "no_answer" not in avg
    p2 = m["pass@2"]
    assert (p2["correct"], p2["incorrect"], p2["not_attempted"]) == (75.0, 50.0, 50.0)
    assert p2["f1"] == pytest.approx(200 / 3) and p2["accuracy_given_attempted"] == pytest.approx(60.0)
    maj = m["majority@2"]
    assert (maj["correct"], maj["incorrect"], maj["not_attempted"]) == (50.0, 25.0, 25.0)
    p1 = m["pass@1"]  # unbiased pass@1 over both seeds: the average
    assert (p1["correct"], p1["incorrect"], p1["not_attempted"], p1["f1"]) == (50.0, 25.0, 25.0, avg["f1"])
    # the reference prints every key of a mode: its default formatting, no column list
    lines = text.splitlines()
    header = next(ln for ln in lines if ln.startswith("evaluation_mode"))
    assert [c.strip() for c in header.split("|")] == ["evaluation_mode", "num_entries", "avg_tokens", "correct",
                                                     "incorrect", "not_attempted", "f1", "accuracy_given_attempted"]
    rows = {ln.split("|")[0].strip(): [c.strip() for c in ln.split("|")[1:]] for ln in lines if "|" in ln}
    assert list(rows)[1:] == ["pass@1[avg-of-2]", "majority@2", "pass@2"]
    assert rows["pass@1[avg-of-2]"] == ["4", "17", "50.00% ± 35.36%", "25.00% ± 0.00%", "25.00% ± 35.36%",
                                        "57.14%", "66.67%"]
    assert rows["pass@2"][2:] == ["75.00%", "50.00%", "50.00%", "66.67%", "60.00%"]


def test_too_long_generations_count_as_incorrect(tmp_path):
    _, path = summarize_results(str(folder(tmp_path)), max_seq_len=12)
    m = json.loads(path.read_text())["simpleqa"]["pass@1[avg-of-2]"]
    # over 12 tokens: q1 rs1 (30), q2 rs0 (20) and rs1 (40), q3 rs1 (15) -> judged B
    # correct: q1 .5, q4 .5 -> 25%; incorrect: q1 .5, q2 1, q3 .5 -> 50%; not attempted: q3 .5, q4 .5 -> 25%
    assert (m["correct"], m["incorrect"], m["not_attempted"]) == (25.0, 50.0, 25.0)
