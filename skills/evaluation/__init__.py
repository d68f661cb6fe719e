"""Grading generation files: ``grade_file(path, eval_type, eval_config)`` through the grader registry.

A file is read whole, every row checked for the grader's required fields (a results file without
generations is refused, never "graded" into nonsense), graded, then rewritten in place atomically
(temp file + fsync + rename), so an interrupted grading leaves the old file intact. Graders that
live in their own environment (``runs="external"``) are run there on the file instead. Used by the
generation program (``++eval_type=...``), by ``ns eval`` grading steps and by ``ns evaluate``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from skills.config.errors import UsageError
from skills.evaluation.builtin import MathConfig
from skills.evaluation.registry import (PIPELINE_KEYS, GradeContext, Grader, build_config, get_grader,
                                        pipeline_keys)

MATH_DEFAULTS: Dict[str, Any] = {f.name: f.default for f in dataclasses.fields(MathConfig)}


def check_config(eval_type: str, eval_config: Any = None) -> Grader:
    """Everything grading would reject, checked before a job is launched (used by the planners)."""
    grader = get_grader(eval_type)
    build_config(grader, eval_config)
    return grader


def read_rows(path: Path) -> List[dict]:
    from skills.data.io import iter_jsonl

    if not path.is_file():
        raise UsageError(f"no such file to grade: {path}")
    rows = []
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise UsageError(f"{path}:{lineno}: not a JSON object")
        rows.append(row)
    return rows


def check_rows(grader: Grader, rows: List[dict], cfg: Any, ctx: GradeContext) -> None:
    """Refuse files that cannot be graded before anything is rewritten."""
    for field in grader.required_fields(ctx.generation_key):
        for i, row in enumerate(rows, 1):
            if field not in row:
                raise UsageError(f"{ctx.path}: line {i} has no {field}; nothing to grade against"
                                 if field == "expected_answer" else f"{ctx.path}: line {i} has no {field} to grade")
    if grader.check is not None:
        grader.check(rows, cfg, ctx)


def grade_rows(rows: List[dict], eval_type: str, eval_config: Any = None,
               ctx: Optional[GradeContext] = None) -> List[dict]:
    """Grade rows in this process (external graders included: this is what runs inside their env)."""
    grader = get_grader(eval_type)
    cfg = build_config(grader, eval_config)
    own = ctx is None
    ctx = ctx or GradeContext(pipeline=pipeline_keys(eval_config))
    try:
        check_rows(grader, rows, cfg, ctx)
        grader.grade(rows, cfg, ctx)
    finally:
        if own:
            ctx.close()
    return rows


def grade_row(row: dict, eval_type: str, config: Any = None, ctx: Optional[GradeContext] = None) -> dict:
    """Grade one row (returns a graded copy)."""
    return grade_rows([dict(row)], eval_type, config, ctx)[0]


def grade_file(path, eval_type: str, eval_config: Any = None, ctx: Optional[GradeContext] = None,
               generation_key: str = "generation") -> Dict[str, int]:
    """Grade a JSONL file in place, atomically; returns counts (entries and the grader's own)."""
    from skills.data.io import write_jsonl

    grader = get_grader(eval_type)
    cfg = build_config(grader, eval_config)
    path = Path(path)
    if grader.runs == "external":
        from skills.evaluation.external import in_environment, run_external

        if not in_environment(grader):
            counts = run_external(grader, str(eval_type), [path], cfg, generation_key, pipeline_keys(eval_config))
            return counts.get(str(path), {})
    own = ctx is None
    ctx = ctx or GradeContext()
    ctx.path, ctx.generation_key = path, generation_key
    ctx.pipeline = pipeline_keys(eval_config)
    try:
        rows = read_rows(path)
        check_rows(grader, rows, cfg, ctx)
        grader.grade(rows, cfg, ctx)
    finally:
        if own:
            ctx.close()
    write_jsonl(path, rows)
    return {"entries": len(rows), **(grader.summary(rows) if grader.summary else {})}


def regrade_files(paths: Iterable, eval_type: str, eval_config: Any = None,
                  generation_key: Optional[str] = None) -> Dict[str, Dict[str, int]]:
    """``ns evaluate``: grade several files sharing the grader's resources (one pool, one process of an
    external grader's environment); all paths are checked first.

    Without ``generation_key`` the grader's own default field is graded."""
    grader = check_config(eval_type, eval_config)
    generation_key = generation_key or grader.default_generation_key
    files = [Path(p) for p in paths]
    if not files:
        raise UsageError("no files to evaluate")
    for path in files:
        if not path.is_file():
            raise UsageError(f"no such file to grade: {path}")
    if grader.runs == "external":
        from skills.evaluation.external import in_environment, run_external

        if not in_environment(grader):  # one grader process (one import, one checker) for all the files
            counts = run_external(grader, str(eval_type), files, build_config(grader, eval_config), generation_key,
                                  pipeline_keys(eval_config))
            return {str(p): counts.get(str(p), {}) for p in files}
    ctx = GradeContext()
    try:
        return {str(p): grade_file(p, eval_type, eval_config, ctx, generation_key) for p in files}
    finally:
        ctx.close()


__all__ = ["MATH_DEFAULTS", "PIPELINE_KEYS", "GradeContext", "Grader", "check_config", "get_grader",
           "grade_file", "grade_row", "grade_rows", "regrade_files"]
