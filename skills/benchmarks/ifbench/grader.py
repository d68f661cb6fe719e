"""The ``ifbench`` grader: IFBench's official checkers, in their own environment, strict and loose.

Runs as ``runs="external"`` in the environment ``ifbench`` (``.venv-ifbench``, or
``$SKILLS_PYTHON_IFBENCH``): the checker package's declared requirements clash with ours in
size and pins, and its checkers need only nltk, emoji and syllapy. This module is imported by the
orchestrator too, so the checkers themselves (``checkers.py``) are imported only when grading.

Each row gets ``loose_eval`` then ``strict_eval`` (``follow_all_instructions``,
``follow_instruction_list``, ``instruction_id_list``, ``prompt``, ``response``), as the reference
writes them. eval_config: ``nltk_data`` (default ``<data_dir>/nltk_data``, then ``$NLTK_DATA``),
``seed`` (per-row seeding of the one random draw some checkers make), ``checker_errors``
(``not_followed``: a checker that raises counts as not followed and the row gets
``checker_errors``; ``fail``: the file is not graded, as in the reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader

POLICIES = ("not_followed", "fail")


@dataclass
class IFBenchConfig:
    nltk_data: Optional[str] = None  # folder holding punkt_tab, stopwords, averaged_perceptron_tagger_eng
    seed: int = 0
    checker_errors: str = "not_followed"

    def __post_init__(self) -> None:
        if self.checker_errors not in POLICIES:
            raise UsageError(f"eval_config.checker_errors must be one of {', '.join(POLICIES)}, "
                             f"got {self.checker_errors!r}")


def check(rows: List[dict], cfg: IFBenchConfig, ctx: GradeContext) -> None:
    """Shapes the checkers rely on, and the NLTK data, before anything is graded."""
    from skills.benchmarks.ifbench import nltk_data

    check_rows(rows, ctx)
    nltk_data.find(cfg.nltk_data, ctx.pipeline.get("data_dir"))


def check_rows(rows: List[dict], ctx: GradeContext) -> None:
    """The row shapes IFEval-style checkers rely on (IFBench's and IFEval's alike)."""
    key = ctx.generation_key
    for i, row in enumerate(rows, 1):
        where = f"{ctx.path}: line {i}"
        if not isinstance(row[key], str):
            raise UsageError(f"{where} has no {key} text to grade (got {type(row[key]).__name__})")
        if not isinstance(row["prompt"], str):
            raise UsageError(f"{where}: prompt is not a string")
        ids, kwargs = row["instruction_id_list"], row["kwargs"]
        if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
            raise UsageError(f"{where}: instruction_id_list is not a list of instruction ids")
        if not isinstance(kwargs, list) or len(kwargs) != len(ids) or not all(isinstance(k, dict) for k in kwargs):
            raise UsageError(f"{where}: kwargs must be one object per instruction ({len(ids)})")


def grade(rows: List[dict], cfg: IFBenchConfig, ctx: GradeContext) -> None:
    from skills.benchmarks.ifbench import checkers, nltk_data

    folder = nltk_data.find(cfg.nltk_data, ctx.pipeline.get("data_dir"))
    checkers.grade(rows, ctx.generation_key, folder, cfg.seed, cfg.checker_errors, ctx.path)


def summary(rows: List[dict]) -> Dict[str, int]:
    return {
        "prompts_followed_strict": sum(bool(r["strict_eval"]["follow_all_instructions"]) for r in rows),
        "prompts_followed_loose": sum(bool(r["loose_eval"]["follow_all_instructions"]) for r in rows),
        "checker_errors": sum(len(r.get("checker_errors", ())) for r in rows),
    }


GRADER = Grader(
    name="ifbench", grade=grade, config=IFBenchConfig,
    requires=("prompt", "instruction_id_list", "kwargs", "{generation_key}"),
    runs="external", environment="ifbench", check=check,
    summary=summary, default_generation_key="response",
)
