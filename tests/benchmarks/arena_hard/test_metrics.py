"""Metric type ``arena``: verdict parsing, the rating fit, the seeded bootstrap, pass@k (eval-metrics.md;
the conformance table itself is in tests/core/metrics/test_conformance.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from skills.benchmarks.arena_hard.metrics import ArenaScorer, aggregate, battles, verdict
from skills.metrics.compute import compute_metrics
from skills.metrics.types import make_scorer, metric_type_for


@pytest.mark.parametrize("text, label", [
    ("My final verdict is tie: [[A=B]]", "A=B"),
    ("[[A>>B]] ... again [[A>>B]]", "A>>B"),  # repeated, one distinct label
    ("first [[A>B]] then [[B>A]]", None),  # two different labels
    ("no verdict at all", None),
    ("[[C>A]]", None),  # not a label of A/B/<>/= characters
    ("[[A<B]]", "A<B"),  # read, but not a verdict: counted invalid
    ("[A>B]", None),
    (None, None),
])
def test_verdict(text, label):
    assert verdict(text) == label


def test_battles_weights_and_order():
    outcome, invalid = battles([("A>>B", "B>A"), (None, "A<B"), ("A=B", "B>>A")])
    assert invalid == 2
    assert outcome == ["candidate"] * 3 + ["candidate"] + ["tie"] + ["candidate"] * 3


def _logistic_win_rate(outcome):
    """The reference's fit, by Newton's method: each battle twice, a tie a win then a loss, X = [log 10, -log 10]."""
    y = np.array([1.0 if w == "candidate" else 0.0 for w in outcome] + [1.0 if w in ("candidate",) else 0.0
                                                                        for w in outcome])
    ties = np.array([w == "tie" for w in outcome] + [False] * len(outcome))
    y[ties] = 1.0
    w = 0.0  # the rating difference (candidate - baseline) times log 10, one parameter
    for _ in range(100):
        p = 1 / (1 + math.exp(-w))
        grad = float(np.sum(y - p))
        hess = len(y) * p * (1 - p)
        w += grad / hess
    elo = 400 * w / math.log(10)
    return round(100 / (1 + 10 ** (-elo / 400)), 2)


@pytest.mark.parametrize("seed", range(5))
def test_score_is_the_rating_fit(seed):
    rng = np.random.default_rng(seed)
    labels = ["A>>B", "A>B", "A=B", "B>A", "B>>A", None]
    pairs = [(labels[rng.integers(6)], labels[rng.integers(6)]) for _ in range(40)]
    outcome, _ = battles(pairs)
    assert aggregate(pairs)["score"] == _logistic_win_rate(outcome)


def test_bootstrap_is_seeded_and_reproducible():
    pairs = [("A>B", "B>A"), ("B>>A", "A>>B"), ("A=B", "A=B"), ("A>>B", "B>A")] * 5
    first, again = aggregate(pairs), aggregate(pairs)
    assert first == again
    other = aggregate(pairs, seed=7)
    assert other["score"] == first["score"] and other["95_CI"] != first["95_CI"]
    low, high = first["95_CI"]
    assert low <= 0 <= high


def test_no_readable_verdict_gives_no_score():
    assert aggregate([(None, None), ("A<B", None)]) == {"score": None, "95_CI": None, "invalid_scores": 4}


def _folder(tmp_path: Path, files):
    paths = []
    for i, rows in enumerate(files):
        p = tmp_path / (f"output-rs{i}.jsonl" if len(files) > 1 else "output.jsonl")
        p.write_text("".join(json.dumps(r) + "\n" for r in rows))
        paths.append(p)
    return paths


def _row(gb, bg, tokens=10):
    return {"judgement-gen-base": f"[[{gb}]]", "judgement-base-gen": f"[[{bg}]]", "num_generated_tokens": tokens}


def test_one_file_is_pass_at_1(tmp_path):
    paths = _folder(tmp_path, [[_row("A>B", "B>A"), _row("B>A", "A>B"), _row("A=B", "A=B")]])
    got = compute_metrics("arena-hard", paths, ArenaScorer())["arena-hard"]
    assert list(got) == ["pass@1"]
    assert list(got["pass@1"]) == ["num_entries", "score", "95_CI", "invalid_scores", "avg_tokens"]
    assert got["pass@1"]["score"] == 50.0 and got["pass@1"]["invalid_scores"] == 0


def test_several_files_take_the_best_verdict_per_order(tmp_path):
    """As the reference: gen-base takes the best label any file has, base-gen the best from the end."""
    files = [[_row("B>>A", "A>>B")], [_row("A>B", "B>A")]]
    got = compute_metrics("arena-hard", _folder(tmp_path, files), ArenaScorer())["arena-hard"]
    assert list(got) == ["pass@2"]
    assert got["pass@2"]["score"] == aggregate([("A>B", "B>A")])["score"] == 100.0


def test_too_long_generations_lose_clearly(tmp_path):
    paths = _folder(tmp_path, [[_row("A>B", "B>A", tokens=10), _row("A>B", "B>A", tokens=5000)]])
    got = compute_metrics("arena-hard", paths, ArenaScorer(), max_seq_len=100)["arena-hard"]["pass@1"]
    assert got["score"] == aggregate([("A>B", "B>A"), ("B>>A", "A>>B")])["score"] < 50.0


def test_registry():
    assert metric_type_for("arena-hard") == "arena"
    assert isinstance(make_scorer("arena"), ArenaScorer)
