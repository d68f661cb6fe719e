"""Metric type ``mrcr``: ``accuracy`` = the grader's ``seq_match_ratio`` (the reference's MRCRMetrics).

Ratios are not 0/1 scores, so pass@k is the best of the first k files unless every score of a
problem is exactly 0 or 1 (then the unbiased estimator, as for any binary score); pass@1[avg-of-k]
is the mean. No majority vote, no no_answer; default formatting (floats as percents)."""

from __future__ import annotations

from typing import Any, Dict

from skills.metrics.base import Scorer


class MRCRScorer(Scorer):
    compute_no_answer = False
    main_methods = ("accuracy",)

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"accuracy": prediction["seq_match_ratio"]}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {**prediction, "seq_match_ratio": 0}
