"""``eval_type=mrcr``: the dataset's own grading rule. A response that does not start with the
row's ``random_string_to_prepend`` scores 0; otherwise that prefix is removed from the response
and the expected answer and the score is ``difflib.SequenceMatcher(None, response, answer).ratio()``.
Written as ``seq_match_ratio`` (0 as an integer, as the reference writes it, else a float)."""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Dict, List, Union

from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader, NoConfig


def score(response: str, answer: str, prefix: str) -> Union[int, float]:
    if not response.startswith(prefix):
        return 0
    return float(SequenceMatcher(None, response[len(prefix):], answer.removeprefix(prefix)).ratio())


def check(rows: List[dict], cfg: NoConfig, ctx: GradeContext) -> None:
    for i, row in enumerate(rows, 1):
        for key in (ctx.generation_key, "expected_answer", "random_string_to_prepend"):
            if not isinstance(row[key], str):
                raise UsageError(f"{ctx.path}: line {i}: {key} is not text")


def grade(rows: List[dict], cfg: NoConfig, ctx: GradeContext) -> None:
    for row in rows:
        row["seq_match_ratio"] = score(row[ctx.generation_key], row["expected_answer"], row["random_string_to_prepend"])


def summary(rows: List[dict]) -> Dict[str, int]:
    return {"exact": sum(r["seq_match_ratio"] == 1.0 for r in rows),
            "prefix_missing": sum(r["seq_match_ratio"] == 0 for r in rows)}


GRADER = Grader(name="mrcr", grade=grade, requires=("{generation_key}", "expected_answer", "random_string_to_prepend"),
                check=check, summary=summary)
