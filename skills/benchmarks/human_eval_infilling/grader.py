"""The ``human_eval_infilling`` grader, as the reference's ``eval_human_eval_infilling``.

Per row: the generation's code by the reference's extraction rule without stripping whitespace
(``original_completion``), then the overlap with ``prefix`` cut from its start and the overlap with
``suffix`` cut from its end (``completion``); the installed ``human_eval_infilling`` grader then runs
prefix + completion + suffix + the task's tests in the sandbox, 3 s (``timeout``), and ``passed`` is
its verdict. All rows of a file must share one ``split``. Problems come from the upstream file
``prepare`` put beside the split (``++eval_config.problem_file`` names another).
"""

from __future__ import annotations

import json
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from skills.benchmarks.human_eval_infilling import BENCH, FILES
from skills.benchmarks.human_eval_infilling.environment import GRADER_SOURCE
from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader
from skills.sandbox.jobs import run_job

DRIVER = Path(__file__).with_name("driver.py")
STARTUP_S = 5.0
FENCE = "```"
INSTALL_HINT = (f"the sandbox's environment needs human_eval_infilling ({GRADER_SOURCE.repo}@"
                f"{GRADER_SOURCE.commit[:7]}; `python -m skills.environments build sandbox`)")


def _positive():
    return {"positive": True}


@dataclass
class InfillingConfig:
    timeout: float = field(default=3.0, metadata=_positive())  # the reference's evaluate(timeout=3.0)
    num_processes: int = field(default=4, metadata=_positive())  # the reference's n_workers
    problem_file: Optional[str] = None  # the upstream HumanEval-*Infilling.jsonl
    memory_mb: int = field(default=4096, metadata=_positive())


def extract_unstripped(generation: str, language: str = "python") -> str:
    """The reference's code extraction with ``strip_whitespace=False``: carriage returns dropped; a
    ``<think>`` without ``</think>`` gives no code, with it what follows (stripped); then the first
    fenced block (```` ```python ```` first), whitespace kept."""
    text = (generation or "").replace("\r", "")
    if "<think>" in text:
        found = re.search(r"</think>\s*(.*)", text, re.DOTALL)
        if not found:
            return ""
        text = found.group(1).strip()
    for opening in (FENCE + language, FENCE):
        start = text.find(opening)
        if start >= 0:
            text = text[start + len(opening):]
            close = text.find(FENCE)
            if close >= 0:
                text = text[:close]
            break
    return text


def _trivial(overlap: str) -> bool:
    return overlap.strip() == "" and "\n" not in overlap  # spaces alone never count as an overlap


def cut_repeated_prefix(prefix: str, completion: str) -> str:
    """Drop the longest end of ``prefix`` that the completion starts with (the model repeated it)."""
    for n in range(min(len(prefix), len(completion)), 0, -1):
        tail = prefix[-n:]
        if not _trivial(tail) and completion.startswith(tail):
            return completion[n:]
    return completion


def cut_repeated_suffix(completion: str, suffix: str) -> str:
    """Drop the longest start of ``suffix`` that the completion ends with."""
    for n in range(min(len(completion), len(suffix)), 0, -1):
        head = suffix[:n]
        if not _trivial(head) and completion.endswith(head):
            return completion[:-n]
    return completion


def problems_path(split: str, cfg: InfillingConfig, pipeline: dict) -> Path:
    if cfg.problem_file:
        path = Path(os.path.expanduser(cfg.problem_file))
    else:
        from skills.data import default_data_dir

        path = Path(pipeline.get("data_dir") or default_data_dir()) / BENCH / FILES[split]
    if not path.is_file():
        raise UsageError(f"{BENCH}: {path} not found: run `ns prepare_data {BENCH} --split {split}` "
                         "(or pass ++eval_config.problem_file)")
    return path


def load_problems(path: Path, wanted: set) -> Dict[str, dict]:
    found = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                if row.get("task_id") in wanted:
                    found[row["task_id"]] = row
    missing = sorted(wanted - set(found))
    if missing:
        raise UsageError(f"{BENCH}: {len(missing)} task(s) not in {path}: {', '.join(missing[:5])}")
    return found


def run_driver(job: dict, wall_s: float, memory_mb: int):
    from skills.sandbox import Limits, Sandbox, get_sandbox
    from skills.sandbox.executor import default_python

    sandbox = get_sandbox()
    kwargs = {"python": default_python()} if isinstance(sandbox, Sandbox) else {}
    return run_job(sandbox, DRIVER, job, Limits(wall_s=wall_s, cpu_s=None, memory_mb=memory_mb), **kwargs)


def check_install() -> dict:
    result, info = run_driver({"probe": True}, 60.0, 4096)
    if info is None:
        raise UsageError(f"{BENCH}: the sandbox could not run the grading driver ({result.status}): "
                         f"{result.stderr.strip()[-500:]}")
    if info["status"] != "probe":
        raise UsageError(f"{BENCH}: {info.get('python')} (the sandbox's interpreter) lacks the grader: {INSTALL_HINT}")
    return info


def run_program(problem: dict, completion: str, timeout: float, memory_mb: int = 4096) -> Dict[str, Any]:
    """The upstream grader's result (``passed``, ``result``) for one completion."""
    result, verdict = run_driver({"problem": problem, "completion": completion, "timeout": timeout},
                                 timeout + 1 + STARTUP_S, memory_mb)
    if result.status == "sandbox_error":
        raise UsageError(f"{BENCH}: the sandbox failed on {problem['task_id']}: {result.stderr.strip()[-300:]}")
    if verdict is None or verdict.get("status") != "ok":
        return {"passed": False, "result": "timed out" if result.timed_out else "failed: no verdict", "as_root": result.as_root}
    return {**verdict, "as_root": result.as_root}


def check(rows: List[dict], cfg: InfillingConfig, ctx: GradeContext) -> None:
    splits = {row["split"] for row in rows}
    if len(splits) > 1:
        raise UsageError(f"{ctx.path}: all rows must share one split, found {sorted(splits)}")
    unknown = splits - set(FILES)
    if unknown:
        raise UsageError(f"{ctx.path}: unknown split {sorted(unknown)[0]} (known: {', '.join(FILES)})")


def grade(rows: List[dict], cfg: InfillingConfig, ctx: GradeContext) -> None:
    if not rows:
        return
    check(rows, cfg, ctx)
    for row in rows:
        row["completion"] = extract_unstripped(row[ctx.generation_key])
        row["original_completion"] = row["completion"]
        row["completion"] = cut_repeated_suffix(cut_repeated_prefix(row["prefix"], row["completion"]), row["suffix"])
    problems = load_problems(problems_path(rows[0]["split"], cfg, ctx.pipeline), {r["task_id"] for r in rows})
    ctx.resource("human_eval_infilling_grader", check_install)

    from tqdm import tqdm

    with ThreadPoolExecutor(cfg.num_processes) as pool, tqdm(total=len(rows), desc=BENCH, unit="program",
                                                             file=sys.stderr, disable=len(rows) < 50) as bar:
        verdicts = []
        for verdict in pool.map(lambda r: run_program(problems[r["task_id"]], r["completion"], cfg.timeout,
                                                      cfg.memory_mb), rows):
            verdicts.append(verdict)
            bar.update(1)
    as_root = any(v["as_root"] for v in verdicts)
    for row, verdict in zip(rows, verdicts):
        row.pop("sandbox_as_root", None)
        if as_root:
            row["sandbox_as_root"] = True
        row["passed"] = verdict["passed"]


def summary(rows: List[dict]) -> Dict[str, int]:
    return {"passed": sum(bool(r.get("passed")) for r in rows)}


GRADER = Grader(
    name="human_eval_infilling",
    grade=grade,
    config=InfillingConfig,
    requires=("{generation_key}", "task_id", "split", "prefix", "suffix"),
    sidecars=("sandbox",),
    check=check,
    summary=summary,
)
