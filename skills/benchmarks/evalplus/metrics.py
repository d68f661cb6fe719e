"""Metric type ``evalplus`` (the reference's EvalPlusMetrics): ``passing_base_tests`` =
``is_correct``, ``passing_plus_tests`` = ``is_correct-plus``, pass@k and pass@1[avg-of-k], no
majority vote and no no_answer column; a sample past ``max_seq_len`` is a bare failed row."""

from __future__ import annotations

from typing import Any, Dict

from skills.metrics.base import Scorer


class EvalPlusScorer(Scorer):
    compute_no_answer = False

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"passing_base_tests": prediction["is_correct"], "passing_plus_tests": prediction["is_correct-plus"]}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"is_correct": False, "is_correct-plus": False}

    main_methods = ("passing_base_tests", "passing_plus_tests")
