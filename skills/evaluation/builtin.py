"""The core graders: ``math`` (boxed extraction + math-verify in a process pool) and ``multichoice``.

Both write ``predicted_answer`` and ``symbolic_correct``; rules in ``math_grader`` and ``mcq``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from skills.config.errors import UsageError
from skills.evaluation.math_grader import DEFAULT_REGEX
from skills.evaluation.registry import GradeContext, Grader


def _positive():
    return {"positive": True}


@dataclass
class MathConfig:
    numeric_precision: int = field(default=15, metadata=_positive())
    timeout: float = field(default=10, metadata=_positive())  # math-verify's own (signal based) timeout, s
    # per answer, by killing the worker; above math-verify's own ~30 s worst case
    hard_timeout: float = field(default=60.0, metadata=_positive())
    num_workers: Optional[int] = field(default=None, metadata=_positive())  # default: all cores
    use_predicted_answer_key: bool = False
    extract_from_boxed: bool = True
    extract_regex: str = DEFAULT_REGEX
    take_modulo: Optional[int] = field(default=None, metadata=_positive())


@dataclass
class McqConfig:
    extract_from_boxed: bool = True
    extract_regex: str = DEFAULT_REGEX
    relaxed: bool = True


def _math_predicted(row: dict, cfg: MathConfig, key: str):
    from skills.evaluation.math_grader import extract_answer

    if cfg.use_predicted_answer_key:
        if "predicted_answer" not in row:  # grading every such row as "no answer" would hide the mistake
            raise UsageError("use_predicted_answer_key=True but a row has no predicted_answer; "
                             "set it to False to re-extract from the generation")
        return row["predicted_answer"]
    return extract_answer(row.get(key), extract_from_boxed=cfg.extract_from_boxed, extract_regex=cfg.extract_regex)


def grade_math(rows: List[dict], cfg: MathConfig, ctx: GradeContext) -> None:
    from skills.evaluation.pool import MathChecker

    checker = ctx.resources.get("math_checker") or ctx.resource(
        "math_checker", lambda: MathChecker(workers=cfg.num_workers, hard_timeout=cfg.hard_timeout))
    kwargs = {"take_modulo": cfg.take_modulo, "numeric_precision": cfg.numeric_precision,
              "timeout_seconds": cfg.timeout}
    predicted = [_math_predicted(row, cfg, ctx.generation_key) for row in rows]
    verdicts = checker.check_many([(row.get("expected_answer"), p, kwargs) for row, p in zip(rows, predicted)])
    for row, p, ok in zip(rows, predicted, verdicts):
        row["predicted_answer"] = p
        row["symbolic_correct"] = ok


def grade_multichoice(rows: List[dict], cfg: McqConfig, ctx: GradeContext) -> None:
    from skills.evaluation.mcq import extract_letter

    for row in rows:
        predicted = extract_letter(  # per-row extraction keys override the config, as in the reference
            row.get(ctx.generation_key),
            extract_from_boxed=row.get("extract_from_boxed", cfg.extract_from_boxed),
            extract_regex=row.get("extract_regex", cfg.extract_regex),
            relaxed=row.get("relaxed", cfg.relaxed),
        )
        row["predicted_answer"] = predicted
        row["symbolic_correct"] = predicted == row.get("expected_answer")


def _check_math(rows: List[dict], cfg: MathConfig, ctx: GradeContext) -> None:
    if not cfg.use_predicted_answer_key:
        _needs_text(rows, ctx)


def _needs_text(rows: List[dict], ctx: GradeContext) -> None:
    for i, row in enumerate(rows, 1):
        if not isinstance(row.get(ctx.generation_key), str):
            raise UsageError(f"{ctx.path}: line {i} has no {ctx.generation_key} text to grade "
                             f"(got {type(row.get(ctx.generation_key)).__name__})")


def answer_summary(rows: List[dict]) -> Dict[str, int]:
    return {"correct": sum(bool(r["symbolic_correct"]) for r in rows),
            "no_answer": sum(r["predicted_answer"] is None for r in rows)}


MATH = Grader(
    name="math", grade=grade_math, config=MathConfig, requires=("expected_answer",),
    runs="pool", check=_check_math, summary=answer_summary,
)
MULTICHOICE = Grader(
    name="multichoice", grade=grade_multichoice, config=McqConfig, requires=("expected_answer",),
    check=lambda rows, cfg, ctx: _needs_text(rows, ctx),
    summary=answer_summary,
)
