"""Metric type ``scicode``: whole problems and sub-steps, with the reference's denominators.

Per prediction, ``problem_accuracy`` is whether every graded step completed (binary, so pass@k is
the unbiased estimate) and ``subtask_accuracy`` the number of completed steps (a count: pass@k is
the best of the first k runs unless all of a problem's counts are 0 or 1). ``subtask_accuracy`` is
then reported per sub-step: 100 x passed steps / ``num_subtasks``, where ``num_subtasks`` counts the
graded steps of each problem in the first results file (prefilled steps are not graded).
"""

from __future__ import annotations

from typing import Any, Dict, Sequence

from skills.metrics.base import Metrics, Scorer


class SciCodeScorer(Scorer):
    compute_no_answer = False
    main_methods = ("problem_accuracy",)

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        statuses = prediction["eval_status"]
        passed = sum(s["process_status"] == "completed" for s in statuses)
        return {"problem_accuracy": passed == len(statuses), "subtask_accuracy": passed}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {**prediction, "eval_status": [{**s, "process_status": "error"} for s in prediction["eval_status"]]}

    def problem_extras(self, preds: Sequence[Dict[str, Any]]) -> Dict[str, float]:
        return {"num_subtasks": len(preds[0]["eval_status"])}

    def finalize(self, metrics: Metrics, extras: Dict[str, float], num_entries: int) -> Metrics:
        num_subtasks = int(extras.get("num_subtasks", 0))
        for mode in metrics.values():
            mode.pop("num_entries", None)
            if "subtask_accuracy" in mode:
                mode["subtask_accuracy"] *= num_entries / num_subtasks if num_subtasks else 0.0
            mode["num_problems"] = num_entries
            mode["num_subtasks"] = num_subtasks
        return metrics
