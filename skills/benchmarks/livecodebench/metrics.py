"""Metric type ``livecodebench`` (eval-metrics.md 6): ``accuracy`` = ``graded_list[0]``, with pass@k
and pass@1[avg-of-k] (no majority vote, no no_answer); subsets per ``subset_for_metrics``
(difficulty). Tables use the default formatting: the columns of the first printed mode."""

from __future__ import annotations

from typing import Any, Dict

from skills.metrics.base import Scorer


class LiveCodeBenchScorer(Scorer):
    compute_no_answer = False

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"accuracy": prediction["graded_list"][0]}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        """As the reference: a bare failed row (tokens, times and subset are dropped too)."""
        return {"graded_list": [False]}
