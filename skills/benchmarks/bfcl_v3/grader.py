"""``eval_type=bfcl``: the official checker of ``bfcl-eval==2025.7.17``, one entry at a time.

Runs in the bfcl environment (``runs="external"``) as a grading step of its own. Each row's
``result`` (its generation when absent, as the reference does) goes to bfcl-eval's own per-category
runner in a confined worker (``worker.py``; the multi-turn checker ``eval``s model-chosen names),
with a fresh state per entry and a per-entry time limit, so any subset of a split can be graded and
one broken entry fails alone (``bfcl evaluate`` would abort the split). Writes ``is_correct``;
``++eval_config.record_error_type=True`` adds the checker's ``bfcl_error_type``.

Deviation: the reference asks the checker for model ``o3-mini-2025-01-31-FC``, which 2025.7.17 no
longer has; ``o3-2025-04-16-FC`` uses the same OpenAI function-calling decoder (and is used instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

from skills.benchmarks.bfcl_v3 import ENVIRONMENT, MULTI_TURN
from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader

DEFAULT_MODEL = "o3-2025-04-16-FC"
ALIASES = {"o3-mini-2025-01-31-FC": DEFAULT_MODEL}  # the reference's name (gorilla d2177992)


@dataclass
class BFCLConfig:
    model: str = DEFAULT_MODEL  # bfcl-eval model whose decoder reads the results (an OpenAI FC model)
    timeout: float = field(default=60.0, metadata={"positive": True})  # seconds per entry
    record_error_type: bool = False


def grade(rows: List[dict], cfg: BFCLConfig, ctx: GradeContext) -> None:
    from skills.benchmarks.bfcl_v3.runtime import Worker, WorkerDied, WorkerError

    worker = ctx.resource("bfcl_checker", lambda: Worker(timeout_s=cfg.timeout + 300))
    model = ALIASES.get(cfg.model, cfg.model)
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
        if cfg.record_error_type:
            row["bfcl_error_type"] = verdict["error_type"]
        if str(row["id"]).rsplit("_", 1)[0] in MULTI_TURN:
            row["bfcl_sandbox"] = worker.isolation


def summary(rows: List[dict]) -> dict:
    return {"correct": sum(bool(r.get("is_correct")) for r in rows)}


GRADER = Grader(name="bfcl", grade=grade, config=BFCLConfig, requires=("{generation_key}", "id"),
                writes=("result", "is_correct"), runs="external", environment=ENVIRONMENT, separate_step=True,
                summary=summary)
