"""Graders: add ``predicted_answer`` and ``symbolic_correct`` to generation outputs.

``grade_file`` rewrites a JSONL file in place atomically (temp file + fsync + rename), so an
interrupted grading leaves the old file intact. Math equivalence runs in a process pool over all
cores with a hard per-answer timeout (``skills.evaluation.pool``). Used by the generation program
(``++eval_type=...``) and by ``ns evaluate --eval_type=math|multichoice FILE...``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping

from skills.config.errors import UsageError

EVAL_TYPES = {"math": "math", "multichoice": "multichoice", "mcq": "multichoice"}
MATH_DEFAULTS: Dict[str, Any] = {
    "numeric_precision": 15,
    "timeout": 10,  # math-verify's own (signal based) timeout, seconds
    "hard_timeout": 60.0,  # per answer, by killing the worker; above math-verify's own ~30 s worst case
    "num_workers": None,  # default: all cores
    "use_predicted_answer_key": False,
    "extract_from_boxed": True,
    "extract_regex": r"The final answer is (.+)$",
    "take_modulo": None,
}
MCQ_DEFAULTS: Dict[str, Any] = {
    "extract_from_boxed": True,
    "extract_regex": r"The final answer is (.+)$",
    "relaxed": True,
}

# Keys the reference pipeline always passes to every evaluator (pipeline.md 4.7); not used here.
PIPELINE_KEYS = frozenset({"split", "data_dir", "input_file"})

_default_checker = None


def _eval_type(name: str) -> str:
    try:
        return EVAL_TYPES[str(name)]
    except KeyError:
        raise UsageError(f"unknown eval_type {name!r}; supported: {', '.join(sorted(EVAL_TYPES))}") from None


def _config(eval_type: str, eval_config: Any) -> Dict[str, Any]:
    """Defaults + user values; unknown keys are typos and fail loudly."""
    if eval_config is None:
        given: Dict[str, Any] = {}
    elif is_dataclass(eval_config):
        given = asdict(eval_config)
    elif isinstance(eval_config, Mapping) or hasattr(eval_config, "items"):
        given = dict(eval_config.items())
    else:
        raise UsageError(f"eval_config must be a mapping, got {type(eval_config).__name__}")
    known = set(MATH_DEFAULTS) | set(MCQ_DEFAULTS)
    unknown = sorted(k for k in given if k not in known and k not in PIPELINE_KEYS)
    if unknown:
        raise UsageError(f"unknown eval_config key {unknown[0]!r}; known: {', '.join(sorted(known))}")
    defaults = MATH_DEFAULTS if eval_type == "math" else MCQ_DEFAULTS
    merged = {**defaults, **{k: v for k, v in given.items() if k in defaults and v is not None}}
    for key, value in merged.items():
        _check_value(key, value, defaults[key])
    return merged


_POSITIVE = ("timeout", "hard_timeout", "num_workers", "numeric_precision", "take_modulo")


def _check_value(key: str, value: Any, default: Any) -> None:
    """Types follow the defaults (ints pass for floats); sizes and timeouts must be > 0."""
    numeric = key in _POSITIVE
    if value is None and default is None:  # "not set" (all cores, no modulo)
        return
    if isinstance(default, bool) or (default is None and not numeric):
        ok = isinstance(value, bool) if isinstance(default, bool) else True
    elif numeric:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    else:
        ok = isinstance(value, type(default))
    if not ok:
        want = "a number > 0" if numeric else type(default).__name__
        raise UsageError(f"eval_config.{key} must be {want}, got {value!r}")


def check_config(eval_type: str, eval_config: Any = None) -> None:
    """Everything grading would reject, checked before a job is launched (used by the planners)."""
    _config(_eval_type(eval_type), eval_config)


def _math_predicted(row: dict, cfg: Dict[str, Any]):
    from skills.evaluation.math_grader import extract_answer

    if cfg["use_predicted_answer_key"]:
        if "predicted_answer" not in row:  # grading every such row as "no answer" would hide the mistake
            raise UsageError("use_predicted_answer_key=True but a row has no predicted_answer; "
                             "set it to False to re-extract from the generation")
        return row["predicted_answer"]
    return extract_answer(row.get("generation"), extract_from_boxed=cfg["extract_from_boxed"],
                          extract_regex=cfg["extract_regex"])


def _equal_kwargs(cfg: Dict[str, Any]) -> dict:
    return {"take_modulo": cfg["take_modulo"], "numeric_precision": cfg["numeric_precision"],
            "timeout_seconds": cfg["timeout"]}


def _grade_math_rows(rows: List[dict], cfg: Dict[str, Any], checker=None) -> None:
    from skills.evaluation.pool import MathChecker

    predicted = [_math_predicted(row, cfg) for row in rows]
    tasks = [(row.get("expected_answer"), p, _equal_kwargs(cfg)) for row, p in zip(rows, predicted)]
    if checker is None:
        with MathChecker(workers=cfg["num_workers"], hard_timeout=cfg["hard_timeout"]) as own:
            verdicts = own.check_many(tasks)
    else:
        verdicts = checker.check_many(tasks)
    for row, p, ok in zip(rows, predicted, verdicts):
        row["predicted_answer"] = p
        row["symbolic_correct"] = ok


def _grade_rows(rows: List[dict], eval_type: str, cfg: Dict[str, Any], checker=None) -> None:
    if eval_type == "math":
        _grade_math_rows(rows, cfg, checker)
    else:
        from skills.evaluation.mcq import grade_mcq

        for row in rows:
            grade_mcq(row, **cfg)


def grade_row(row: dict, eval_type: str, config: Any = None, checker=None) -> dict:
    """Grade one row (returns a graded copy). Math uses a shared single-worker pool unless given one."""
    global _default_checker
    kind = _eval_type(eval_type)
    cfg = _config(kind, config)
    row = dict(row)
    if kind == "math" and checker is None:
        if _default_checker is None:
            import atexit

            from skills.evaluation.pool import MathChecker

            _default_checker = MathChecker(workers=1, hard_timeout=cfg["hard_timeout"])
            atexit.register(_default_checker.close)
        checker = _default_checker
    _grade_rows([row], kind, cfg, checker)
    return row


def _read_rows(path: Path) -> List[dict]:
    from skills.data.io import iter_jsonl

    if not path.is_file():
        raise UsageError(f"no such file to grade: {path}")
    rows = []
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise UsageError(f"{path}:{lineno}: not a JSON object")
        rows.append(row)
    return rows


def _check_fields(path: Path, rows: List[dict], kind: str, cfg: Dict[str, Any]) -> None:
    """Refuse files that cannot be graded (e.g. a results file without generations) before
    anything is rewritten: grading them would replace the old grades with nonsense."""
    needs_generation = not (kind == "math" and cfg.get("use_predicted_answer_key"))
    for i, row in enumerate(rows, 1):
        if "expected_answer" not in row:
            raise UsageError(f"{path}: line {i} has no expected_answer; nothing to grade against")
        if needs_generation and not isinstance(row.get("generation"), str):
            raise UsageError(f"{path}: line {i} has no generation text to grade "
                             f"(got {type(row.get('generation')).__name__})")


def grade_file(path, eval_type: str, eval_config: Any = None, checker=None) -> Dict[str, int]:
    """Grade a JSONL file in place, atomically; returns counts (entries, correct, no_answer)."""
    from skills.data.io import write_jsonl

    kind = _eval_type(eval_type)
    cfg = _config(kind, eval_config)
    path = Path(path)
    rows = _read_rows(path)
    _check_fields(path, rows, kind, cfg)
    _grade_rows(rows, kind, cfg, checker)
    write_jsonl(path, rows)
    return {
        "entries": len(rows),
        "correct": sum(bool(r["symbolic_correct"]) for r in rows),
        "no_answer": sum(r["predicted_answer"] is None for r in rows),
    }


def regrade_files(paths: Iterable, eval_type: str, eval_config: Any = None) -> Dict[str, Dict[str, int]]:
    """``ns evaluate``: grade several files with one worker pool; all paths are checked first."""
    from skills.evaluation.pool import MathChecker

    kind = _eval_type(eval_type)
    cfg = _config(kind, eval_config)
    files = [Path(p) for p in paths]
    if not files:
        raise UsageError("no files to evaluate")
    for path in files:
        if not path.is_file():
            raise UsageError(f"no such file to grade: {path}")
    if kind != "math":
        return {str(p): grade_file(p, kind, cfg) for p in files}
    with MathChecker(workers=cfg["num_workers"] or os.cpu_count(), hard_timeout=cfg["hard_timeout"]) as checker:
        return {str(p): grade_file(p, kind, cfg, checker=checker) for p in files}


__all__ = ["EVAL_TYPES", "grade_file", "grade_row", "regrade_files"]
