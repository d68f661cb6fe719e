"""The ``bfcl`` metric type: ``accuracy`` = the checker's ``is_correct`` (pass@k, pass@1[avg-of-k]).
``metrics.json`` also records which gorilla code graded (the rows' ``bfcl_checker``)."""

from typing import Any, Dict, List

from skills.metrics.base import Scorer


class BFCLScorer(Scorer):
    compute_no_answer = False
    recorded_fields = ("bfcl_checker",)

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"accuracy": bool(prediction["is_correct"])}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {**prediction, "is_correct": False}

    def evaluations_to_print(self, n: int) -> List[str]:
        return [f"pass@1[avg-of-{n}]", f"pass@{n}"]
