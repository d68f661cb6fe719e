"""Metric type ``ruler`` (eval-metrics.md 10): ``accuracy`` = the grader's fractional ``is_correct``.

Fractions are not 0/1 scores, so pass@k is the best of the first k files (the unbiased estimator
only applies when every score of a problem is 0 or 1); pass@1[avg-of-k] is the mean; no majority
vote and no no_answer. Greedy runs therefore report ``pass@1`` alone. Tables use the default
formatting (the columns of the first printed mode)."""

from __future__ import annotations

from typing import Any, Dict

from skills.metrics.base import Scorer


class RulerScorer(Scorer):
    compute_no_answer = False

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"accuracy": prediction["is_correct"]}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {**prediction, "is_correct": False}
