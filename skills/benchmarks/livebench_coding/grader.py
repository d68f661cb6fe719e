"""The ``livebench_coding`` grader, as the reference's ``eval_livebench_coding``.

Per row: ``coding_completion`` rows take the code block without stripping whitespace, tabs turned
back into four spaces, and grade ``partial_solution + "\\n" + completion``; other rows
(``LCB_generation``) the stripped code block. ``code_list`` = [that program]. Each program then runs
in the sandbox under the LiveCodeBench harness of the fork the reference installs (its LiveBench
branch; the same ``testing_util.py`` as the C++ grader's, byte for byte): public then private tests,
6 s per test, stop at the first failure; ``graded_list`` = [all passed]. Tests come from the file
prepare wrote (``test.tests.jsonl``) or ``++eval_config.test_file``.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from skills.benchmarks.human_eval_infilling.grader import extract_unstripped
from skills.benchmarks.livebench_coding import BENCH
from skills.benchmarks.livecodebench.extract import extract_code
from skills.benchmarks.livecodebench.grader import Verdict, check_harness, run_program
from skills.benchmarks.livecodebench.problems import evaluation_sample, scan
from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader


def _positive():
    return {"positive": True}


@dataclass
class LiveBenchCodingConfig:
    test_file: Optional[str] = None  # problems with their tests (default: <data_dir>/livebench-coding/test.tests.jsonl)
    timeout: int = field(default=6, metadata=_positive())  # the reference's evaluate(timeout=6)
    num_processes: int = field(default=12, metadata=_positive())
    memory_mb: int = field(default=4096, metadata=_positive())


def program(row: dict, generation: str) -> str:
    if row["task"] == "coding_completion":
        if not row.get("partial_solution"):
            raise UsageError(f"{BENCH}: {row.get('question_id')}: a coding_completion row without partial_solution")
        row["completion"] = extract_unstripped(generation).replace("\t", "    ")
        return row["partial_solution"] + "\n" + row["completion"]
    row["completion"] = extract_code(generation)
    return row["completion"]


def tests_path(cfg: LiveBenchCodingConfig, pipeline: dict) -> Path:
    if cfg.test_file:
        path = Path(os.path.expanduser(cfg.test_file))
    else:
        from skills.data import default_data_dir

        path = Path(pipeline.get("data_dir") or default_data_dir()) / BENCH / "test.tests.jsonl"
    if not path.is_file():
        raise UsageError(f"{BENCH}: no tests at {path}: run `ns prepare_data {BENCH}` or pass ++eval_config.test_file")
    return path


def grade(rows: List[dict], cfg: LiveBenchCodingConfig, ctx: GradeContext) -> None:
    if not rows:
        return
    programs = []
    for row in rows:
        programs.append(program(row, row[ctx.generation_key]))
        row["code_list"] = [programs[-1]]
    path = tests_path(cfg, ctx.pipeline)
    wanted = {r["question_id"] for r in rows}
    problems: Dict[str, dict] = {}
    scan(path, wanted, problems)
    missing = sorted(wanted - set(problems))
    if missing:
        raise UsageError(f"{BENCH}: no tests for {len(missing)} problem(s) ({', '.join(missing[:5])}) in {path}")
    ctx.resource("livebench_coding_harness", lambda: check_harness("python", fork=True))

    def one(i: int) -> Verdict:
        sample, n = evaluation_sample(problems[rows[i]["question_id"]])
        return run_program(programs[i], sample, n, cfg.timeout, cfg.memory_mb, fork=True)

    from tqdm import tqdm

    with ThreadPoolExecutor(cfg.num_processes) as pool, tqdm(total=len(rows), desc=BENCH, unit="program",
                                                             file=sys.stderr, disable=len(rows) < 50) as bar:
        verdicts = []
        for verdict in pool.map(one, range(len(rows))):
            verdicts.append(verdict)
            bar.update(1)
    as_root = any(v.as_root for v in verdicts)
    for row, verdict in zip(rows, verdicts):
        row.pop("sandbox_as_root", None)
        if as_root:
            row["sandbox_as_root"] = True
        row["graded_list"] = [verdict.passed]


GRADER = Grader(
    name="livebench_coding",
    grade=grade,
    config=LiveBenchCodingConfig,
    requires=("{generation_key}", "question_id", "task", "partial_solution"),
    sidecars=("sandbox",),
    summary=lambda rows: {"passed": sum(bool(r.get("graded_list", [False])[0]) for r in rows)},
)
