"""The ``livecodebench`` grader: every generation's code is run in the code sandbox by
LiveCodeBench's own harness (nvidia-livecodebench's ``testing_util.run_test``), public tests first,
then private ones, ``timeout`` seconds per test, stopping at the first failure.

Like the reference it grades inline, right after generation, writing ``completion`` (the extracted
code), ``question_id``, ``code_list`` and ``graded_list`` (``[True]`` only when every test passed).
Rows are dispatched from threads; the sandbox decides how many programs run at once. The limits are
the reference harness's: ``timeout`` seconds of wall time per test (its own alarm) and the whole-problem
limit ``(timeout + 1) * tests + 5`` seconds (plus our start-up allowance), no CPU-time limit; a
program killed, exiting early or printing no verdict fails every test, as upstream. With
``$SKILLS_SANDBOX_URL`` (the ``sandbox`` sidecar of ``ns eval``) the service runs the programs;
otherwise the local sandbox does, with ``$SKILLS_SANDBOX_PYTHON`` or ``.venv-sandbox``.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from skills.benchmarks.livecodebench.extract import extract_code
from skills.benchmarks.livecodebench.problems import evaluation_sample, find_problems
from skills.benchmarks.livecodebench.upstream import (FORK_HARNESS, FORK_HARNESS_SHA256, FORK_HINT, HARNESS_SHA256,
                                                     INSTALL_HINT, PACKAGE, sandbox_python)
from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader
from skills.sandbox.jobs import run_job

STARTUP_S = 3.0  # interpreter start, numpy and harness import, on top of the upstream limit
CPP_MEMORY_MB = 8192  # the C++ harness gives each compiled program 8 GiB (it must be able to raise to it)
DRIVER = Path(__file__).with_name("driver.py")  # the program the sandbox runs (our code, not the model's)


def _positive():
    return {"positive": True}


@dataclass
class LiveCodeBenchConfig:
    test_file: Optional[str] = None  # upstream-schema rows with tests (default: found from data_dir/split)
    timeout: int = field(default=6, metadata=_positive())  # seconds per test, as upstream
    num_processes: int = field(default=12, metadata=_positive())  # programs in flight (the sandbox caps it)
    # address space per process; the reference's sandbox allows 50 GiB (docs/sandbox.md: why less)
    memory_mb: int = field(default=4096, metadata=_positive())
    language: str = "python"  # or "cpp" (livecodebench-cpp: the reference's fork, g++)
    interpreter: str = "python"
    # accepted so that the reference's command lines work; the sandbox here is chosen by the
    # environment ($SKILLS_SANDBOX_URL) and retries connections by itself
    sandbox: Dict[str, Any] = field(default_factory=dict)
    timeout_buffer: int = 60
    num_retries: int = 3


@dataclass
class Verdict:
    passed: bool
    results: List[Any]  # per test as the harness reports: True, False, -1 .. -4 (stops at a failure)
    metadata: Dict[str, Any]
    status: str  # ok | no_result | timeout | error ...
    as_root: bool = False  # ran as root (only with SKILLS_SANDBOX_ALLOW_ROOT=1)


def _sandbox():
    """(sandbox, execute kwargs): the service if configured (it picks the interpreter), else the
    local sandbox with ``.venv-sandbox``'s interpreter."""
    from skills.sandbox import Sandbox, get_sandbox

    sandbox = get_sandbox()
    if not isinstance(sandbox, Sandbox):
        return sandbox, {}
    python = sandbox_python()
    return sandbox, ({"python": python} if python else {})


def _execute(job: dict, wall_s: float, memory_mb: int):
    """The driver's result and verdict. A limit above a sandbox service's maximum is its 400 (a
    UsageError naming the maximum): grading stops rather than cut a problem short."""
    from skills.sandbox import Limits

    sandbox, kwargs = _sandbox()
    return run_job(sandbox, DRIVER, job, Limits(wall_s=wall_s, cpu_s=None, memory_mb=memory_mb), **kwargs)


def harness_job(language: str = "python", fork: bool = False) -> Dict[str, Any]:
    """The driver's harness choice: the nvidia-livecodebench package's, or the reference's fork
    (``language="cpp"``, and LiveBench's coding problems, ``fork=True``)."""
    out: Dict[str, Any] = {"language": language} if language != "python" else {}
    if language == "cpp" or fork:
        out["harness"] = FORK_HARNESS
    return out


def check_harness(language: str = "python", fork: bool = False) -> Dict[str, Any]:
    """Run the driver once without a program: the sandbox must have the reference's harness."""
    job = {"probe": True, **harness_job(language, fork)}
    result, info = _execute(job, 60.0, 4096)
    if info is None:
        raise UsageError(f"livecodebench: the sandbox could not run the grading driver ({result.status}): "
                         f"{result.stderr.strip()[-500:]}")
    if "harness" in job:
        if info["status"] == "no_harness":
            raise UsageError(f"livecodebench: {info['python']} (the sandbox's interpreter) lacks the fork's harness: "
                             f"{FORK_HINT}")
        if info["sha256"] != FORK_HARNESS_SHA256:
            raise UsageError(f"livecodebench: {info['harness']} is not the fork's harness at the pin: {FORK_HINT}")
        return info
    if info["status"] == "no_harness":
        raise UsageError(f"livecodebench: {info['python']} (the sandbox's interpreter) lacks {PACKAGE}: {INSTALL_HINT}")
    if info["sha256"] != HARNESS_SHA256:
        raise UsageError(f"livecodebench: {info['harness']} is not the harness of {PACKAGE} "
                         f"(sha256 {info['sha256'][:12]}...): {INSTALL_HINT}")
    return info


def run_program(code: str, sample: str, num_tests: int, timeout: int = 6, memory_mb: int = 4096,
                language: str = "python", fork: bool = False) -> Verdict:
    """Grade one program against one problem (``sample`` = the harness's input_output JSON text)."""
    wall = (timeout + 1) * num_tests + 5 + STARTUP_S
    job = {"input_output": sample, "code": code, "timeout": timeout, **harness_job(language, fork)}
    if language == "cpp":
        memory_mb = max(memory_mb, CPP_MEMORY_MB)
    result, verdict = _execute(job, wall, memory_mb)
    if verdict is None or verdict.get("status") != "ok":
        # upstream: no result from the worker process -> every test counts as failed
        why = "timeout" if result.timed_out else (verdict or {}).get("status", "no_verdict")
        meta = {"error": (verdict or {}).get("error") or result.stderr.strip()[-300:], "status": result.status}
        return Verdict(False, [-1] * num_tests, meta, why, result.as_root)
    results = verdict["results"]
    return Verdict(all(r > 0 for r in results), results, verdict["metadata"], "ok", result.as_root)


def check(rows: List[dict], cfg: LiveCodeBenchConfig, ctx: GradeContext) -> None:
    if cfg.language not in ("python", "cpp") or cfg.interpreter != "python":
        raise UsageError("livecodebench: language must be python or cpp, with interpreter=python")
    versions = {row["release_version"] for row in rows}
    if len(versions) > 1:
        raise UsageError(f"{ctx.path}: all rows must share one release_version, found {sorted(versions)}")


def grade(rows: List[dict], cfg: LiveCodeBenchConfig, ctx: GradeContext) -> None:
    if not rows:
        return
    for row in rows:  # the reference's order of the new fields
        row["completion"] = extract_code(row[ctx.generation_key], cfg.language)
        row["question_id"] = row["task_id"]
        row["code_list"] = [row["completion"]]
    problems = find_problems((r["task_id"] for r in rows), rows[0]["release_version"], cfg.test_file, ctx.pipeline,
                             cfg.language)
    ctx.resource(f"livecodebench_harness_{cfg.language}", lambda: check_harness(cfg.language))

    def one(row: dict) -> Verdict:
        try:
            sample, n = evaluation_sample(problems[row["task_id"]])
        except UsageError as exc:
            raise UsageError(f"problem {row['task_id']}: {exc.message}") from None
        return run_program(row["completion"], sample, n, cfg.timeout, cfg.memory_mb, cfg.language)

    from tqdm import tqdm

    with ThreadPoolExecutor(cfg.num_processes) as pool, tqdm(total=len(rows), desc="livecodebench", unit="program",
                                                             file=sys.stderr, disable=len(rows) < 50) as bar:
        verdicts = []
        for verdict in pool.map(one, rows):
            verdicts.append(verdict)
            bar.update(1)
    as_root = any(v.as_root for v in verdicts)  # never by default: SKILLS_SANDBOX_ALLOW_ROOT=1 was set
    for row, verdict in zip(rows, verdicts):
        row.pop("sandbox_as_root", None)
        if as_root:  # before graded_list, which stays the last field as the reference writes it
            row.pop("graded_list", None)
            row["sandbox_as_root"] = True
        row["graded_list"] = [verdict.passed]


def summary(rows: List[dict]) -> Dict[str, int]:
    return {"passed": sum(bool(r.get("graded_list", [False])[0]) for r in rows)}


GRADER = Grader(
    name="livecodebench",
    grade=grade,
    config=LiveCodeBenchConfig,
    requires=("{generation_key}", "task_id", "release_version"),
    sidecars=("sandbox",),
    check=check,
    summary=summary,
)
