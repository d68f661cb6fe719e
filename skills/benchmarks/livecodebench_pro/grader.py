"""The ``livecodebench_pro`` "grader": what the reference's ``eval_livecodebench_pro`` does, nothing
more, because verdicts come from LiveCodeBench Pro's own judge. Per row the code is extracted by the
reference's rule, then ``task_id`` becomes ``problem_id``, the code ``text_response`` and
``response_meta`` is null: the rows of the output file are the judge's submission. No program runs
here; the metric type shows only how many submissions hold code (``has_code``: a non-empty
``text_response``), not a score (the reference's ``code`` metric type does not exist, so its
``summarize_results`` fails on these rows).
"""

from __future__ import annotations

from typing import Any, Dict, List

from skills.benchmarks.livecodebench.extract import extract_code
from skills.evaluation.registry import GradeContext, Grader, NoConfig
from skills.metrics.base import Scorer


def grade(rows: List[dict], cfg: Any, ctx: GradeContext) -> None:
    for row in rows:
        row["completion"] = extract_code(row[ctx.generation_key])
        row["problem_id"] = row.pop("task_id")
        row["text_response"] = row.pop("completion")
        row["response_meta"] = None


class SubmissionScorer(Scorer):
    """No local score: tables show the submissions written and how many hold code."""

    compute_no_answer = False

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"has_code": bool(prediction["text_response"])}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {**prediction, "text_response": ""}


GRADER = Grader(name="livecodebench_pro", grade=grade, config=NoConfig, requires=("{generation_key}", "task_id"),
                summary=lambda rows: {"submissions": len(rows)})
