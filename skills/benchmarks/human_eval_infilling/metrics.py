"""Metric type ``human_eval_infilling`` (the reference's HumanEvalInfillingMetrics): ``accuracy`` =
``passed``, pass@k and pass@1[avg-of-k], no majority vote and no no_answer column."""

from __future__ import annotations

from typing import Any, Dict

from skills.metrics.base import Scorer


class InfillingScorer(Scorer):
    compute_no_answer = False

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"accuracy": prediction["passed"]}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"passed": False}
