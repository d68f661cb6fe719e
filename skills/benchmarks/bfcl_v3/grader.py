"""``eval_type=bfcl``: gorilla's own checker, one entry at a time, at the reference's pin by default.

Runs in the bfcl environment (``runs="external"``) as a grading step of its own. Each row's
``result`` (its generation when absent, as the reference does) goes to gorilla's own per-category
runner in a confined worker (``worker.py``; the multi-turn checker ``eval``s model-chosen names),
with a fresh state per entry and a per-entry time limit, so any subset of a split can be graded and
one broken entry fails alone (``bfcl evaluate`` would abort the split). Writes ``is_correct`` and
``bfcl_checker`` (which gorilla code graded, e.g. ``gorilla@d2177992bbba``; ``metrics.json`` records
it); ``++eval_config.record_error_type=True`` adds the checker's ``bfcl_error_type``.

The build (``++eval_config.build``): ``pinned`` (gorilla at the commit the reference installs, with
its own question and answer files, asked for model ``o3-mini-2025-01-31-FC`` as the reference asks)
or ``pypi`` (bfcl-eval 2025.7.17, which lacks that model: ``o3-2025-04-16-FC`` decodes the same way).
Unset, the build that generated the rows (their ``bfcl_build``) grades them, else ``pinned``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from skills.benchmarks.bfcl_v3 import ENVIRONMENT, MULTI_TURN, PINNED, PYPI
from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader

DEFAULT_MODEL = "o3-mini-2025-01-31-FC"  # the reference's (its decoder reads {name: "json args"} lists)


@dataclass
class BFCLConfig:
    model: str = DEFAULT_MODEL  # gorilla model id whose decoder reads the results (an OpenAI FC model)
    timeout: float = field(default=60.0, metadata={"positive": True})  # seconds per entry
    record_error_type: bool = False
    build: Optional[str] = None  # pinned | pypi; unset: the rows' bfcl_build, else pinned


def build_for(rows: List[dict], cfg: BFCLConfig) -> str:
    if cfg.build is not None:
        if cfg.build not in (PINNED, PYPI):
            raise UsageError(f"eval_config.build must be {PINNED} or {PYPI}, not '{cfg.build}'")
        return cfg.build
    made = next((r["bfcl_build"] for r in rows if r.get("bfcl_build")), None)
    return PYPI if str(made).startswith("bfcl-eval==") else PINNED


def grade(rows: List[dict], cfg: BFCLConfig, ctx: GradeContext) -> None:
    from skills.benchmarks.bfcl_v3.runtime import Worker, WorkerDied, WorkerError

    build = build_for(rows, cfg)
    worker = ctx.resource(f"bfcl_checker_{build}", lambda: Worker(timeout_s=cfg.timeout + 300, build=build))
    try:
        checker = worker.identity()["checker"]
    except WorkerError as exc:
        raise UsageError(f"bfcl: {exc}") from None
    model = cfg.model
    for i, row in enumerate(rows, 1):
        if "result" not in row:
            row["result"] = row[ctx.generation_key]
        try:
            verdict = worker.call("grade", id=row["id"], result=row["result"], model=model, timeout=cfg.timeout)
        except WorkerDied:  # e.g. model code that ends the process: that entry fails, a new worker goes on
            verdict = {"correct": False, "error_type": "grader:worker_died"}
        except WorkerError as exc:
            raise UsageError(f"{ctx.path or 'rows'}: line {i}: {exc}") from None
        row["is_correct"] = verdict["correct"]
        row["bfcl_checker"] = checker
        if cfg.record_error_type:
            row["bfcl_error_type"] = verdict["error_type"]
        if str(row["id"]).rsplit("_", 1)[0] in MULTI_TURN:
            row["bfcl_sandbox"] = worker.isolation


def summary(rows: List[dict]) -> dict:
    return {"correct": sum(bool(r.get("is_correct")) for r in rows)}


GRADER = Grader(name="bfcl", grade=grade, config=BFCLConfig, requires=("{generation_key}", "id"),
                runs="external", environment=ENVIRONMENT, separate_step=True,
                summary=summary)
