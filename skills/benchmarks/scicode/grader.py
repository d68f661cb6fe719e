"""SciCode grading (``eval_type=scicode``): every generated step runs against its numeric targets.

For each key of a line's ``generation`` the program is that step's full code, then SciCode's own
helpers (``scicode.parse.parse`` reads the targets from ``test_data.h5``, ``scicode.compare.cmp``
compares; imported from the ``nvidia-scicode`` package installed where the sandbox runs code, never
re-written here), then the step's test cases, each after ``target = targets[j]``. It runs in the
code sandbox (30 s by default, many at once) and gives ``completed`` (no exception), ``error`` or
``timeout``; ``eval_status`` holds one result per key, in the order of ``generation``.

The targets file (1 GB) is not sent with each program: the sandbox lets the program read it in
place (``read_only``). Without the file, or with a sandbox that cannot import the helpers or see
the file, grading stops with one line saying what to set up: never a silent zero.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional

from skills.benchmarks.scicode import TEST_DATA
from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader

MAX_OUTPUT_CHARS = 100_000
PROGRAM_FILE = "program.py"
# Test cases import the comparison helpers from `scicode`; the prefix provides them instead.
_SCICODE_IMPORT = re.compile(r"^\s*(from\s+scicode\.|import\s+scicode)\b")
# Runs the program like the reference's IPython cell: any exception, SystemExit included, is an
# error (a plain script would end "successfully" on sys.exit(0) before its tests ran).
RUNNER = f"""def _run_program():
    import os, sys, traceback
    with open({PROGRAM_FILE!r}, encoding="utf-8") as f:
        source = f.read()
    try:
        exec(compile(source, {PROGRAM_FILE!r}, "exec"), sys.modules["__main__"].__dict__)
    except BaseException:
        traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


_run_program()
"""
# What a sandbox must offer before anything is graded: the helpers import and the file opens.
PREFLIGHT_S = 120.0
PREFLIGHT = """import h5py, scipy, numpy, sympy
import scicode.parse.parse, scicode.compare.cmp
h5py.File({path!r}, "r").close()
"""


def _positive():
    return {"positive": True}


@dataclass
class SciCodeConfig:
    """The reference's limits by default (docs/sandbox.md compares them): 30 s of wall time per
    step, no CPU-time limit, numpy/BLAS on every core, 100 GiB of address space (its sandbox sets
    RLIMIT_AS to twice NEMO_SKILLS_SANDBOX_MEM_LIMIT's 50 GiB), no process limit (ours: 1024)."""

    test_data: Optional[str] = None  # default: <data_dir>/scicode/test_data.h5
    timeout: float = field(default=30.0, metadata=_positive())  # wall seconds per step
    num_parallel_requests: int = field(default=20, metadata=_positive())
    memory_mb: int = field(default=100 * 1024, metadata=_positive())  # address space per process
    cpu_s: Optional[float] = field(default=None, metadata=_positive())  # CPU seconds per process; None: none
    threads: Optional[int] = field(default=None, metadata=_positive())  # BLAS/OpenMP; None: the libraries' own
    max_processes: int = field(default=1024, metadata=_positive())  # processes + threads per program


def test_data_path(cfg: SciCodeConfig, ctx: GradeContext) -> Path:
    if cfg.test_data:
        return Path(os.path.abspath(Path(cfg.test_data).expanduser()))
    data_dir = ctx.pipeline.get("data_dir")
    if not data_dir:
        from skills.data import default_data_dir

        data_dir = default_data_dir()
    return Path(os.path.abspath(Path(data_dir).expanduser() / "scicode" / TEST_DATA))


def eval_prefix(h5_path: str) -> str:
    """Defines the reference's helper names from the upstream package; the targets are read from
    ``h5_path``. Starts with a newline: a generated program may not end with one."""
    return (
        "\nimport h5py\nimport scipy\n"
        "from scicode.parse import parse as _scicode_parse\n"
        "from scicode.parse.parse import (process_hdf5_list, process_hdf5_dict, process_hdf5_sparse_matrix,\n"
        "                                 process_hdf5_datagroup)\n"
        "from scicode.compare.cmp import (are_dicts_close, process_symbol_in_dict, are_csc_matrix_close,\n"
        "                                 cmp_tuple_or_list)\n"
        f"H5PY_FILE = {h5_path!r}\n\n\n"
        "def process_hdf5_to_tuple(step_id, test_num, h5py_file=H5PY_FILE):\n"
        "    return _scicode_parse.process_hdf5_to_tuple(step_id, test_num, h5py_file)\n\n\n"
    )


def step_of(row: Dict[str, Any], key: str) -> Dict[str, Any]:
    """The sub-step a generation key names (``"<problem>.<k>"``, k counted from 1)."""
    index = int(key.rsplit(".", 1)[1]) - 1
    steps = row["sub_steps"]
    if not 0 <= index < len(steps):
        raise UsageError(f"generation key {key} names no sub-step of problem {row.get('problem_id')}")
    return steps[index]


def build_program(full_generation: str, step: Dict[str, Any], h5_path: str) -> str:
    tests = ["\n".join(line for line in case.split("\n") if not _SCICODE_IMPORT.match(line))
             for case in step["test_cases"]]
    program = full_generation + eval_prefix(h5_path)
    program += f"targets = process_hdf5_to_tuple('{step['step_number']}', {len(tests)})\n"
    for j, case in enumerate(tests):
        program += f"target = targets[{j}]\n\n" + "".join(line + "\n" for line in case.split("\n"))
    return program


def _cut(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS] + "<output cut>"


class StepRunner:
    """Runs step programs in the sandbox (the service, or the local one with the sandbox env)."""

    def __init__(self, cfg: SciCodeConfig, h5_path: str):
        from skills.sandbox import Limits, get_sandbox

        self.sandbox = get_sandbox()
        self.h5_path = h5_path
        self.limits = Limits(wall_s=cfg.timeout, cpu_s=cfg.cpu_s, memory_mb=cfg.memory_mb, threads=cfg.threads,
                             max_processes=cfg.max_processes)
        self.timeout = cfg.timeout
        self.as_root = False  # some step ran as root (only with SKILLS_SANDBOX_ALLOW_ROOT=1)
        self.extra: Dict[str, Any] = {}  # the local sandbox runs the `sandbox` environment's python

    def _execute(self, code: str, files: Optional[Dict[str, str]] = None, limits=None):
        return self.sandbox.execute(code, files=files, limits=limits or self.limits, read_only=[self.h5_path],
                                    **self.extra)

    def preflight(self) -> None:
        slow = max(self.timeout, PREFLIGHT_S)  # a short step limit must not fail the set-up check
        limits = replace(self.limits, wall_s=slow, cpu_s=None)
        result = self._execute(PREFLIGHT.format(path=self.h5_path), limits=limits)
        if result.status != "completed":
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise UsageError(
                f"the sandbox cannot run SciCode's tests ({lines[-1] if lines else result.status}): its Python "
                "needs numpy, scipy, h5py, sympy and nvidia-scicode (scripts/setup.sh builds .venv-sandbox; on a "
                f"cluster: environments.sandbox) and must be able to read {self.h5_path}")

    def run(self, program: str) -> Dict[str, str]:
        result = self._execute(RUNNER, files={PROGRAM_FILE: program})
        self.as_root = self.as_root or result.as_root
        if result.status == "sandbox_error":
            raise RuntimeError(f"the sandbox could not run a SciCode step: {result.stderr}")
        if result.status == "timeout":
            return {"process_status": "timeout", "stdout": _cut(result.stdout),
                    "stderr": f"Execution timed out after {self.timeout} seconds\n"}
        status = "completed" if result.status == "completed" else "error"
        return {"process_status": status, "stdout": _cut(result.stdout), "stderr": _cut(result.stderr)}


def check(rows: List[dict], cfg: SciCodeConfig, ctx: GradeContext) -> None:
    path = test_data_path(cfg, ctx)
    if not path.is_file():
        raise UsageError(f"SciCode's numeric targets {path} are missing: run `ns prepare_data scicode` (it "
                         "downloads test_data.h5, 1.05 GB) or pass ++eval_config.test_data=PATH")
    for i, row in enumerate(rows, 1):
        generation = row.get(ctx.generation_key)
        if not isinstance(generation, dict):
            raise UsageError(f"{ctx.path}: line {i}: '{ctx.generation_key}' is not SciCode's step -> program "
                             "map (was it generated with skills.benchmarks.scicode.generate?)")


def grade(rows: List[dict], cfg: SciCodeConfig, ctx: GradeContext) -> None:
    h5_path = str(test_data_path(cfg, ctx))
    runner = StepRunner(cfg, h5_path)
    runner.preflight()
    jobs = [(i, build_program(program, step_of(row, key), h5_path))
            for i, row in enumerate(rows) for key, program in row[ctx.generation_key].items()]
    with ThreadPoolExecutor(max_workers=cfg.num_parallel_requests) as pool:
        results = list(pool.map(lambda job: runner.run(job[1]), jobs))
    for row in rows:
        row.pop("eval_status", None)  # the last field, as the reference writes it
        row.pop("sandbox_as_root", None)
        if runner.as_root:  # never by default: SKILLS_SANDBOX_ALLOW_ROOT=1 where the sandbox runs
            row["sandbox_as_root"] = True
        row["eval_status"] = []
    for (i, _), status in zip(jobs, results):
        rows[i]["eval_status"].append(status)


def summary(rows: List[dict]) -> Dict[str, int]:
    counts = {"steps": 0, "completed": 0, "error": 0, "timeout": 0}
    for row in rows:
        for status in row.get("eval_status", []):
            counts["steps"] += 1
            counts[status["process_status"]] += 1
    return counts


GRADER = Grader(name="scicode", grade=grade, config=SciCodeConfig,
                requires=("{generation_key}", "problem_id", "sub_steps"),
                sidecars=("sandbox",), check=check, summary=summary)
