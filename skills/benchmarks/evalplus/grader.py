"""The ``evalplus`` grader (HumanEval+ and MBPP+), as the reference's ``eval_evalplus`` grades.

Each generation's code is extracted with the reference's rule (``completion``); the program is the
task's ``prompt`` followed by it, as EvalPlus builds it from a ``completion`` sample. The pinned
EvalPlus, installed in the sandbox's environment, then decides inside the sandbox:

- expected outputs: its ``trusted_exec`` of the canonical solution on the task's base and plus
  inputs, timing each input (its ``get_groundtruth``), one sandboxed run per task, cached by the
  dataset file's md5 (EvalPlus's key) under ``$XDG_CACHE_HOME/skills/evalplus/`` as EvalPlus caches
  them under ``~/.cache/evalplus``; the cache holds pickles made in the sandbox and is only ever
  unpickled there;
- verdicts: its ``untrusted_check`` on the base inputs, then the plus inputs, with the reference's
  flags (``min_time_limit`` 1 s, ``gt_time_limit_factor`` 4: each input may take
  ``max(1, 4 x canonical time)`` seconds; stop at the first failing input).

``is_correct`` = base ``pass``; ``is_correct-plus`` = base and plus ``pass``. Unlike the reference's
EvalPlus call, a file need not hold every task of the dataset (``++max_samples`` works).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from skills.benchmarks.evalplus import DATASETS, problems_file_name
from skills.benchmarks.evalplus.environment import EVALPLUS
from skills.benchmarks.livecodebench.extract import extract_code
from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader
from skills.sandbox.jobs import run_job

DRIVER = Path(__file__).with_name("driver.py")
STARTUP_S = 5.0  # interpreter, numpy and evalplus imports, the forks
PER_PART_S = 60 + 3.5  # EvalPlus's cap per input set (EVALPLUS_TIMEOUT_PER_TASK, 60 s) + its +1, join +1, kills
GROUNDTRUTH_WALL_S = 600.0  # the canonical solution on every input of one task
INSTALL_HINT = (f"the sandbox's environment needs evalplus at {EVALPLUS.commit[:7]} (scripts/setup.sh builds "
                ".venv-sandbox with it; `python -m skills.environments build sandbox`; $SKILLS_SANDBOX_PYTHON "
                "picks another interpreter)")
# The reference's flags (nemo_skills/evaluation/evaluator/code.py); ++eval_config.evalplus.<flag> changes one.
DEFAULT_FLAGS = {"dataset": None, "base_only": False, "parallel": None, "i_just_wanna_run": False,
                 "test_details": False, "min_time_limit": 1, "gt_time_limit_factor": 4.0, "mini": False,
                 "noextreme": False, "version": "default"}


def _positive():
    return {"positive": True}


@dataclass
class EvalPlusConfig:
    evalplus: Dict[str, Any] = field(default_factory=dict)  # EvalPlus's flags, as the reference passes them
    problem_file: Optional[str] = None  # the plain upstream .jsonl (EvalPlus's *_OVERRIDE_PATH)
    num_processes: int = field(default=12, metadata=_positive())  # programs in flight (the sandbox caps it)
    # address space per process; EvalPlus itself sets 4 GiB in the process running a solution
    memory_mb: int = field(default=8192, metadata=_positive())


def flags(cfg: EvalPlusConfig) -> Dict[str, Any]:
    out = dict(DEFAULT_FLAGS)
    unknown = sorted(set(cfg.evalplus) - set(out) - {"samples"})
    if unknown:
        raise UsageError(f"evalplus: unknown eval_config.evalplus key(s) {', '.join(unknown)} "
                         f"(known: {', '.join(DEFAULT_FLAGS)})")
    out.update(cfg.evalplus)
    if out["dataset"] not in DATASETS:
        raise UsageError(f"evalplus: eval_config.evalplus.dataset must be one of {', '.join(DATASETS)}, "
                         f"got {out['dataset']!r}")
    if out["mini"] or out["noextreme"]:
        raise UsageError("evalplus: the mini and noextreme variants are not supported (their files are not prepared)")
    for key in ("min_time_limit", "gt_time_limit_factor"):
        if isinstance(out[key], bool) or not isinstance(out[key], (int, float)) or out[key] <= 0:
            raise UsageError(f"evalplus: eval_config.evalplus.{key} must be a positive number, got {out[key]!r}")
    return out


# ----------------------------------------------------------------------------- problems
def problems_path(dataset: str, cfg: EvalPlusConfig, pipeline: dict) -> Path:
    """The upstream problems file: ``problem_file``, else the one prepare put in the data folder."""
    if cfg.problem_file:
        path = Path(os.path.expanduser(cfg.problem_file))
        if not path.is_file():
            raise UsageError(f"evalplus: eval_config.problem_file {path} does not exist")
        return path
    from skills.data import default_data_dir

    bench = DATASETS[dataset]["benchmark"]
    path = Path(pipeline.get("data_dir") or default_data_dir()) / bench / problems_file_name(dataset)
    if not path.is_file():
        raise UsageError(f"evalplus: {path} not found: run `ns prepare_data {bench}` (or pass "
                         "++eval_config.problem_file=<plain upstream .jsonl>)")
    return path


def load_problems(path: Path, wanted: set) -> Tuple[str, Dict[str, dict]]:
    """(md5 of the file, task_id -> upstream row) for the wanted tasks."""
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    found: Dict[str, dict] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"{path}:{lineno}: not valid JSON ({exc})") from None
            if isinstance(row, dict) and row.get("task_id") in wanted:
                found[row["task_id"]] = row
    missing = sorted(wanted - set(found))
    if missing:
        raise UsageError(f"evalplus: {len(missing)} task(s) not in {path}: {', '.join(missing[:5])}")
    return digest, found


# ----------------------------------------------------------------------------- sandbox runs
def _sandbox():
    from skills.sandbox import Sandbox, get_sandbox
    from skills.sandbox.executor import default_python

    sandbox = get_sandbox()
    return (sandbox, {"python": default_python()}) if isinstance(sandbox, Sandbox) else (sandbox, {})


def run_driver(job: dict, limits, files: Optional[Dict[str, bytes]] = None):
    """(ExecResult, the driver's verdict or None)."""
    sandbox, kwargs = _sandbox()
    return run_job(sandbox, DRIVER, job, limits, files, **kwargs)


def check_install() -> dict:
    from skills.sandbox import Limits

    result, info = run_driver({"mode": "probe"}, Limits(wall_s=60, cpu_s=None, memory_mb=4096))
    if info is None:
        raise UsageError(f"evalplus: the sandbox could not run the grading driver ({result.status}): "
                         f"{result.stderr.strip()[-500:]}")
    if info["status"] == "no_evalplus":
        raise UsageError(f"evalplus: {info['python']} (the sandbox's interpreter) lacks evalplus: {INSTALL_HINT}")
    if info["status"] != "probe" or EVALPLUS.commit[:12] not in str(info.get("version")):
        raise UsageError(f"evalplus: the sandbox's evalplus ({info.get('version')}, {info.get('path')}) is not the "
                         f"pinned {EVALPLUS.commit[:12]}: {INSTALL_HINT}")
    return info


class GroundTruth:
    """Expected outputs per task (opaque pickles made in the sandbox): memory, disk, else computed."""

    def __init__(self, dataset: str, digest: str, memory_mb: int):
        self.dataset, self.digest, self.memory_mb = dataset, digest, memory_mb
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        self.folder = base / "skills" / "evalplus" / f"{digest}-{EVALPLUS.commit[:12]}"
        self.cache: Dict[str, bytes] = {}
        self.lock = threading.Lock()

    def _file(self, task_id: str) -> Path:
        return self.folder / (task_id.replace("/", "_") + ".pkl")

    def get(self, task: dict) -> bytes:
        task_id = task["task_id"]
        if task_id in self.cache:
            return self.cache[task_id]
        try:
            blob = self._file(task_id).read_bytes()
        except OSError:
            blob = self.compute(task)
            self.store(task_id, blob)
        with self.lock:
            self.cache[task_id] = blob
        return blob

    def compute(self, task: dict) -> bytes:
        from skills.sandbox import Limits

        limits = Limits(wall_s=GROUNDTRUTH_WALL_S, cpu_s=None, memory_mb=self.memory_mb,
                        max_output_bytes=64 * 1024 * 1024)
        result, verdict = run_driver({"mode": "groundtruth", "dataset": self.dataset, "task": task}, limits)
        if result.stdout_truncated:
            raise UsageError(f"evalplus: the expected outputs of {task['task_id']} exceed the sandbox's "
                             f"{limits.max_output_bytes // 2**20} MiB of output")
        if not verdict or verdict.get("status") != "ok":
            why = (verdict or {}).get("error") or f"{result.status}: {result.stderr.strip()[-300:]}"
            raise UsageError(f"evalplus: the canonical solution of {task['task_id']} could not be run in the "
                             f"sandbox, so its expected outputs are unknown ({why})")
        return base64.b64decode(verdict["groundtruth"])

    def store(self, task_id: str, blob: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self._file(task_id).with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(blob)
            os.replace(tmp, self._file(task_id))
        except OSError:
            pass  # an unwritable cache only costs time


@dataclass
class Verdict:
    base_status: Optional[str]
    plus_status: Optional[str]
    detail: Dict[str, Any]
    as_root: bool = False


def check_solution(dataset: str, task: dict, solution: str, groundtruth: bytes, fl: Dict[str, Any],
                   memory_mb: int = 8192) -> Verdict:
    """EvalPlus's verdict on one program (the task's prompt and the extracted completion)."""
    from skills.sandbox import Limits

    job = {"mode": "check", "dataset": dataset, "task": task, "solution": solution,
           "min_time_limit": fl["min_time_limit"], "gt_time_limit_factor": fl["gt_time_limit_factor"],
           "base_only": bool(fl["base_only"]), "fast_check": not fl["test_details"]}
    limits = Limits(wall_s=STARTUP_S + 2 * PER_PART_S, cpu_s=None, memory_mb=memory_mb)
    result, verdict = run_driver(job, limits, {"groundtruth.pkl": groundtruth})
    if result.status == "sandbox_error":
        raise UsageError(f"evalplus: the sandbox failed on {task['task_id']}: {result.stderr.strip()[-300:]}")
    if verdict is None or verdict.get("status") != "ok":
        # the grading process itself did not report (killed, or the program broke it): no pass
        return Verdict("timeout" if result.timed_out else "fail", None if fl["base_only"] else "fail",
                       {"error": (verdict or {}).get("error") or result.stderr.strip()[-300:], "status": result.status},
                       result.as_root)
    return Verdict(verdict["base_status"], verdict.get("plus_status"), verdict, result.as_root)


# ----------------------------------------------------------------------------- the grader
def check(rows: List[dict], cfg: EvalPlusConfig, ctx: GradeContext) -> None:
    flags(cfg)


def grade(rows: List[dict], cfg: EvalPlusConfig, ctx: GradeContext) -> None:
    fl = flags(cfg)
    dataset = fl["dataset"]
    for row in rows:
        row["completion"] = extract_code(row[ctx.generation_key])
    if not rows:
        return
    digest, problems = load_problems(problems_path(dataset, cfg, ctx.pipeline), {r["task_id"] for r in rows})
    ctx.resource("evalplus_install", check_install)
    truth = ctx.resource(f"evalplus_groundtruth_{digest}", lambda: GroundTruth(dataset, digest, cfg.memory_mb))
    workers = int(fl["parallel"] or cfg.num_processes)

    from tqdm import tqdm

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda t: truth.get(problems[t]), sorted(problems)))  # expected outputs first

        def one(row: dict) -> Verdict:
            task = problems[row["task_id"]]
            return check_solution(dataset, task, task["prompt"] + row["completion"], truth.get(task), fl,
                                  cfg.memory_mb)

        with tqdm(total=len(rows), desc="evalplus", unit="program", file=sys.stderr, disable=len(rows) < 50) as bar:
            verdicts = []
            for verdict in pool.map(one, rows):
                verdicts.append(verdict)
                bar.update(1)
    as_root = any(v.as_root for v in verdicts)
    for row, verdict in zip(rows, verdicts):
        row.pop("sandbox_as_root", None)
        if as_root:
            row["sandbox_as_root"] = True
        row["is_correct"] = verdict.base_status == "pass"
        row["is_correct-plus"] = row["is_correct"] and verdict.plus_status == "pass"


def summary(rows: List[dict]) -> Dict[str, int]:
    return {"passed_base": sum(bool(r.get("is_correct")) for r in rows),
            "passed_plus": sum(bool(r.get("is_correct-plus")) for r in rows)}


GRADER = Grader(
    name="evalplus",
    grade=grade,
    config=EvalPlusConfig,
    requires=("{generation_key}", "task_id"),
    sidecars=("sandbox",),
    check=check,
    summary=summary,
)
