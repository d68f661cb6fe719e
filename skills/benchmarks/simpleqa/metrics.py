"""SimpleQA's metric type ``simpleqa`` (the reference's ``SimpleQAMetrics``).

The judge replies with a letter: A = correct, B = incorrect, C = not attempted. A verdict counts
when the stripped judgement equals the letter or starts with it; a missing or unreadable judgement
(none of the three, empty, a reasoning preamble) is "not attempted". Every prediction so scores three
0/1 channels ``correct``, ``incorrect``, ``not_attempted``, aggregated like any other (pass@k,
pass@1[avg-of-k], majority@k voting on the judgement text, no ``no_answer``). Each mode then gets
the derived scores, computed from that mode's percentages as the reference does:

- ``accuracy_given_attempted`` = correct / (correct + incorrect) (0 when nothing was attempted);
- ``f1`` = harmonic mean of ``accuracy_given_attempted`` and ``correct``.

For ``pass@k`` modes with k > 1 these come from pass@k of each channel separately (so ``correct`` +
``incorrect`` may exceed 100%), exactly as the reference prints them.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from skills.metrics.base import Metrics
from skills.metrics.math_metrics import MathScorer

LABELS = {"correct": "A", "incorrect": "B", "not_attempted": "C"}


def label_matches(judgement: Any, label: str) -> bool:
    """The reference's test: the stripped text is the letter or starts with it (case-sensitive)."""
    if not isinstance(judgement, str):
        return False
    text = judgement.strip()
    return bool(text) and text[0] == label


def verdict(judgement: Any) -> str:
    """``correct`` | ``incorrect`` | ``not_attempted`` (also for anything unreadable)."""
    for name in ("correct", "incorrect"):
        if label_matches(judgement, LABELS[name]):
            return name
    return "not_attempted"


def derived_scores(correct_pct: float, incorrect_pct: float) -> Dict[str, float]:
    """``f1`` and ``accuracy_given_attempted`` (percent) from a mode's correct and incorrect percents."""
    correct, incorrect = correct_pct / 100, incorrect_pct / 100
    attempted = correct + incorrect
    accuracy = correct / attempted if attempted > 0 else 0.0
    f1 = 2 * accuracy * correct / (accuracy + correct) if accuracy + correct > 0 else 0.0
    return {"f1": f1 * 100, "accuracy_given_attempted": accuracy * 100}


class SimpleQAScorer(MathScorer):
    main_methods = ("correct",)

    def __init__(self, compute_no_answer: bool = False, answer_key: str = "judgement") -> None:
        super().__init__(compute_no_answer=compute_no_answer, answer_key=answer_key)

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        found = verdict(prediction.get("judgement"))
        return {name: name == found for name in LABELS}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        """Too long (``--max_seq_len``): graded incorrect (the reference cannot filter SimpleQA by length)."""
        return {**prediction, "judgement": LABELS["incorrect"]}

    def metrics_to_print(self) -> Optional[Dict[str, str]]:
        return None  # the reference prints every key of a mode

    def evaluations_to_print(self, n: int):
        return [f"pass@1[avg-of-{n}]", f"majority@{n}", f"pass@{n}"]

    def finalize(self, metrics: Metrics, extras: Dict[str, float], num_entries: int) -> Metrics:
        for values in metrics.values():
            values.update(derived_scores(values.get("correct", 0), values.get("incorrect", 0)))
        return metrics
