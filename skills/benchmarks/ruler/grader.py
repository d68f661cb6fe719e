"""``eval_type=ruler``: RULER's string match on the raw generation, case-insensitive.

``match_type=all`` scores the fraction of the references found in the generation (a float in
[0, 1]: a multi-value needle half recalled scores 0.5); ``part`` scores 1.0 when any is found (QA,
whose reference list holds alternative answers). The raw text is matched, not a parsed answer:
RULER's prompts end with an answer prefix, so the continuation is the answer. ``predicted_answer``
is informational (the stripped generation, control characters turned into newlines), as the
reference writes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional

from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader

MATCH_TYPES = ("all", "part")
PARSE_FUNCS = ("default",)
_CONTROL = re.compile(r"[\x00-\x1f]")


@dataclass
class RulerConfig:
    match_type: Optional[str] = None  # required, as in the reference: the data's definitions set it
    parse_func: str = "default"

    def __post_init__(self) -> None:
        if self.match_type not in MATCH_TYPES:
            raise UsageError(f"eval_type ruler needs ++eval_config.match_type={' or '.join(MATCH_TYPES)}, "
                             f"got {self.match_type!r}")
        if self.parse_func not in PARSE_FUNCS:
            raise UsageError(f"eval_config.parse_func must be one of {', '.join(PARSE_FUNCS)}, got {self.parse_func!r}")


def score(generation: str, references: List[str], match_type: str) -> float:
    text = generation.lower()
    found = [ref.lower() in text for ref in references]
    if match_type == "all":
        return sum(found) / len(found)
    return 1.0 if any(found) else 0.0


def parse(generation: str) -> str:
    return _CONTROL.sub("\n", generation.strip()).strip()


def check(rows: List[dict], cfg: RulerConfig, ctx: GradeContext) -> None:
    for i, row in enumerate(rows, 1):
        refs = row["expected_answer"]
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
            raise UsageError(f"{ctx.path}: line {i}: expected_answer must be a non-empty list of strings")
        if not isinstance(row[ctx.generation_key], str):
            raise UsageError(f"{ctx.path}: line {i}: {ctx.generation_key} is not text")


def grade(rows: List[dict], cfg: RulerConfig, ctx: GradeContext) -> None:
    for row in rows:
        generation = row[ctx.generation_key]
        row["is_correct"] = score(generation, row["expected_answer"], cfg.match_type)
        row["predicted_answer"] = parse(generation)


def summary(rows: List[dict]) -> Dict[str, int]:
    return {"fully_correct": sum(r["is_correct"] == 1.0 for r in rows),
            "partly_correct": sum(0.0 < r["is_correct"] < 1.0 for r in rows)}


GRADER = Grader(name="ruler", grade=grade, config=RulerConfig, requires=("expected_answer", "{generation_key}"),
                check=check, summary=summary)
