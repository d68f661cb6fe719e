"""The ``bigcodebench`` grader, as the reference's ``eval_bigcodebench`` (BigCodeBench's ``evaluate``
with ``execution="local"``, ``calibrated=True``), every program in the code sandbox.

Per row: the code block by the reference's rule becomes ``solution`` (``completion`` is not kept);
the program is ``code_prompt + "\\n    pass\\n" + solution`` (calibrated). With the ``bigcodebench``
environment's interpreter, BigCodeBench's checker (``bigcodebench==0.2.5``) first times each task's
canonical solution (``trusted_check``; cached per task for the grading run), then runs the task's
unittest suite on the program (``untrusted_check``): its limits (30 GiB address space and data,
10 MB stack, at least 1 s or the canonical time, 240 s per task). ``status`` = ``pass`` / ``fail`` /
``timeout``. All rows of a file share one ``split``; problems come from ``<split>.problems.jsonl``.
The environment's interpreter is used even when a sandbox service runs beside the job (the
service's interpreter lacks the library stack): the local sandbox runs these programs.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from skills.benchmarks.bigcodebench import BENCH, ENVIRONMENT_NAME
from skills.benchmarks.livecodebench.extract import extract_code
from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader
from skills.sandbox.jobs import run_job
from skills.metrics.base import Scorer

DRIVER = Path(__file__).with_name("driver.py")
TIMEOUT_LIMIT = 240.0  # BigCodeBench's per-task limit (bigcodebench.eval.utils)
STARTUP_S = 10.0


def _positive():
    return {"positive": True}


@dataclass
class BigCodeBenchConfig:
    problem_file: Optional[str] = None  # default: <data_dir>/bigcodebench/<split>.problems.jsonl
    num_processes: int = field(default=12, metadata=_positive())
    min_time_limit: float = field(default=1.0, metadata=_positive())  # evaluate()'s defaults
    max_as_limit: int = field(default=30 * 1024, metadata=_positive())  # MB
    max_data_limit: int = field(default=30 * 1024, metadata=_positive())
    max_stack_limit: int = field(default=10, metadata=_positive())


def environment_python() -> str:
    from skills.config.interpreters import environment_python as find

    python = find(ENVIRONMENT_NAME)
    if python is None:
        raise UsageError(f"{BENCH}: no {ENVIRONMENT_NAME} environment (.venv-{ENVIRONMENT_NAME}): run scripts/setup.sh "
                         f"or python -m skills.environments build {ENVIRONMENT_NAME}")
    return python


def run_driver(job: dict, wall_s: float, memory_mb: int) -> tuple:
    from skills.sandbox import Limits, default_sandbox

    return run_job(default_sandbox(), DRIVER, job,
                   Limits(wall_s=wall_s, cpu_s=None, memory_mb=memory_mb, threads=None), python=environment_python())


def _limits(cfg: BigCodeBenchConfig) -> Dict[str, Any]:
    return {"max_as_limit": cfg.max_as_limit, "max_data_limit": cfg.max_data_limit,
            "max_stack_limit": cfg.max_stack_limit, "min_time_limit": cfg.min_time_limit}


def _memory(cfg: BigCodeBenchConfig) -> int:
    return max(cfg.max_as_limit, cfg.max_data_limit) + 2048  # the checker lowers its test process to its own limit


def check_checker() -> dict:
    result, info = run_driver({"mode": "probe"}, 60.0, 4096)
    if info is None or info.get("status") != "probe":
        why = (info or {}).get("status") or f"{result.status}: {result.stderr.strip()[-300:]}"
        raise UsageError(f"{BENCH}: the {ENVIRONMENT_NAME} environment cannot run BigCodeBench's checker ({why}): "
                         f"python -m skills.environments build {ENVIRONMENT_NAME}")
    return info


class GroundTruth:
    """Canonical-solution times per task (BigCodeBench's calibration of each task's time limit)."""

    def __init__(self, cfg: BigCodeBenchConfig):
        self.cfg, self.times, self.lock = cfg, {}, threading.Lock()

    def get(self, task: dict) -> Optional[float]:
        if task["task_id"] not in self.times:
            result, verdict = run_driver({"mode": "groundtruth", "task": task, "limits": _limits(self.cfg)},
                                         TIMEOUT_LIMIT + 2 + STARTUP_S, _memory(self.cfg))
            if not verdict or verdict.get("status") != "ok":
                why = (verdict or {}).get("error") or f"{result.status}: {result.stderr.strip()[-300:]}"
                raise UsageError(f"{BENCH}: timing the canonical solution of {task['task_id']} failed ({why})")
            with self.lock:
                self.times[task["task_id"]] = verdict["time"]
        return self.times[task["task_id"]]


def problems_path(split: str, cfg: BigCodeBenchConfig, pipeline: dict) -> Path:
    if cfg.problem_file:
        path = Path(os.path.expanduser(cfg.problem_file))
    else:
        from skills.data import default_data_dir

        path = Path(pipeline.get("data_dir") or default_data_dir()) / BENCH / f"{split}.problems.jsonl"
    if not path.is_file():
        raise UsageError(f"{BENCH}: {path} not found: run `ns prepare_data {BENCH} --split {split}` "
                         "(or pass ++eval_config.problem_file)")
    return path


def check(rows: List[dict], cfg: BigCodeBenchConfig, ctx: GradeContext) -> None:
    splits = {row["split"] for row in rows}
    if len(splits) > 1:
        raise UsageError(f"{ctx.path}: all rows must share one split, found {sorted(splits)}")


def grade(rows: List[dict], cfg: BigCodeBenchConfig, ctx: GradeContext) -> None:
    if not rows:
        return
    check(rows, cfg, ctx)
    for row in rows:
        row["solution"] = extract_code(row[ctx.generation_key])
        row.pop("completion", None)
    wanted = {r["task_id"] for r in rows}
    problems: Dict[str, dict] = {}
    with open(problems_path(rows[0]["split"], cfg, ctx.pipeline), encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                task = json.loads(line)
                if task["task_id"] in wanted:
                    problems[task["task_id"]] = task
    missing = sorted(wanted - set(problems))
    if missing:
        raise UsageError(f"{BENCH}: {len(missing)} task(s) not in the problems file: {', '.join(missing[:5])}")
    ctx.resource("bigcodebench_checker", check_checker)
    truth = ctx.resource("bigcodebench_groundtruth", lambda: GroundTruth(cfg))

    def one(row: dict) -> str:
        task = problems[row["task_id"]]
        gt = truth.get(task)
        job = {"mode": "check", "task": task, "solution": task["code_prompt"] + "\n    pass\n" + row["solution"],
               "limits": _limits(cfg), "gt_time": gt if gt else 20}
        wall = max(TIMEOUT_LIMIT, cfg.min_time_limit, gt or 20) + 2 + 0.2 + STARTUP_S
        result, verdict = run_driver(job, wall, _memory(cfg))
        if result.status == "sandbox_error":
            raise UsageError(f"{BENCH}: the sandbox failed on {task['task_id']}: {result.stderr.strip()[-300:]}")
        if verdict is None or verdict.get("status") != "ok":
            return "timeout" if result.timed_out else "fail"
        return verdict["result"]

    from tqdm import tqdm

    with ThreadPoolExecutor(cfg.num_processes) as pool:
        list(pool.map(lambda t: truth.get(problems[t]), sorted(problems)))
        with tqdm(total=len(rows), desc=BENCH, unit="program", file=sys.stderr, disable=len(rows) < 50) as bar:
            statuses = []
            for status in pool.map(one, rows):
                statuses.append(status)
                bar.update(1)
    for row, status in zip(rows, statuses):
        row["status"] = status


class BigCodeBenchScorer(Scorer):
    """Metric type ``bigcodebench`` (the reference's BigCodeBenchMetrics): ``accuracy`` = ``status == "pass"``."""

    compute_no_answer = False

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"accuracy": prediction["status"] == "pass"}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"status": "fail"}


GRADER = Grader(
    name="bigcodebench", grade=grade, config=BigCodeBenchConfig, requires=("{generation_key}", "task_id", "split"),
    check=check, summary=lambda rows: {"passed": sum(r.get("status") == "pass" for r in rows)},
)
