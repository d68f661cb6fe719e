"""Code-grading throughput: the staged HumanEval+ canonical solutions graded through our sandbox
(the ``evalplus`` grader's per-program execution: the pinned EvalPlus runs every base and plus
input of a task in its own forked process) against a bare subprocess loop running the very same
grading program on the same jobs, unisolated. Printed, not asserted.

    python tests/perf/bench_code_grading.py [--problems FILE] [--tasks 164] [--workers N] [--rounds 2]

``--problems`` is the plain HumanEvalPlus-v0.1.9.jsonl (default: ``$SKILLS_DATA_MIRROR/human-eval/
HumanEvalPlus.jsonl.gz`` gunzipped). Expected outputs are computed first (cached, not timed). Figures:
programs per second (one isolated execution each) and test inputs per second (the inputs those
programs ran), each mode timed in alternating rounds, medians; as root with cgroup v2 also the CPU
time per program of everything started (independent of the machine's load) and what it allows on idle cores. Goal (issue 29): >= 1,000 isolated
test executions per second per 64 cores, i.e. >= 30 per second on 2 cores.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from bench_sandbox import CpuMeter  # noqa: E402  (same folder: CPU time of everything started, from a cgroup)

from skills.benchmarks.evalplus import problems_file_name  # noqa: E402
from skills.benchmarks.evalplus.grader import (DRIVER, EvalPlusConfig, GroundTruth, check_solution, flags,  # noqa: E402
                                               load_problems)
from skills.sandbox import default_sandbox  # noqa: E402
from skills.sandbox.executor import default_python  # noqa: E402


def problems_file(arg: str, tmp: Path) -> Path:
    if arg:
        return Path(arg)
    gz = Path(os.environ.get("SKILLS_DATA_MIRROR", "")) / "human-eval" / "HumanEvalPlus.jsonl.gz"
    if not gz.is_file():
        sys.exit("no --problems and no $SKILLS_DATA_MIRROR/human-eval/HumanEvalPlus.jsonl.gz")
    out = tmp / problems_file_name("humaneval")
    out.write_bytes(gzip.decompress(gz.read_bytes()))
    return out


def bare(python: str, job: dict, truth: bytes, tmp: Path) -> dict:
    """The grading program in a fresh folder, as a plain subprocess (no isolation, no limits)."""
    work = Path(tempfile.mkdtemp(dir=tmp))
    nonce = secrets.token_hex(8)
    (work / "job.json.gz").write_bytes(gzip.compress(json.dumps({**job, "nonce": nonce}).encode()))
    (work / "groundtruth.pkl").write_bytes(truth)
    done = subprocess.run([python, str(DRIVER)], cwd=work, capture_output=True, text=True, timeout=300)
    shutil.rmtree(work, ignore_errors=True)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith(nonce))
    return json.loads(line[len(nonce):])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--problems", default="")
    p.add_argument("--tasks", type=int, default=164)
    p.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-code-grading-"))
    try:
        path = problems_file(args.problems, tmp)
        ids = [json.loads(ln)["task_id"] for ln in path.read_text().splitlines() if ln.strip()][:args.tasks]
        digest, problems = load_problems(path, set(ids))
        fl = flags(EvalPlusConfig(evalplus={"dataset": "humaneval"}))
        python = default_python()
        sandbox = default_sandbox()
        truth = GroundTruth("humaneval", digest, 8192)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            blobs = dict(zip(ids, pool.map(lambda t: truth.get(problems[t]), ids)))
        print(f"expected outputs of {len(ids)} tasks ready in {time.perf_counter() - start:.1f} s (cached after the "
              f"first run); sandbox: {sandbox.isolation(python).mode}; "
              f"interpreter {python}; {args.workers} workers", flush=True)
        inputs = sum(len(problems[t]["base_input"]) + len(problems[t]["plus_input"]) for t in ids)

        def job(t: str) -> dict:
            task = problems[t]
            return {"mode": "check", "dataset": "humaneval", "task": task,
                    "solution": task["prompt"] + task["canonical_solution"], "min_time_limit": fl["min_time_limit"],
                    "gt_time_limit_factor": fl["gt_time_limit_factor"], "base_only": False, "fast_check": True}

        modes = {
            "sandbox": lambda t: check_solution("humaneval", problems[t], job(t)["solution"], blobs[t], fl).plus_status,
            "bare subprocess": lambda t: bare(python, job(t), blobs[t], tmp).get("plus_status"),
        }
        times = {m: [] for m in modes}
        cpu = {m: [] for m in modes}
        passed = {}
        meter = CpuMeter()
        for _ in range(args.rounds):
            for name, fn in modes.items():
                used, start = meter.seconds(), time.perf_counter()
                with ThreadPoolExecutor(args.workers) as pool:
                    statuses = list(pool.map(fn, ids))
                times[name].append(time.perf_counter() - start)
                if used is not None:
                    cpu[name].append(meter.seconds() - used)
                passed[name] = sum(s == "pass" for s in statuses)
        meter.close()
        print(f"{len(ids)} programs (canonical solutions), {inputs} test inputs, median of {args.rounds} rounds:")
        for name in modes:
            sec = statistics.median(times[name])
            line = (f"  {name:16s} {sec:7.1f} s  {len(ids) / sec:6.2f} programs/s  {inputs / sec:8.0f} test inputs/s  "
                    f"(passed base+plus: {passed[name]}/{len(ids)})")
            if cpu[name]:
                per = statistics.median(cpu[name]) / len(ids)
                line += f"; CPU {per * 1000:.0f} ms/program = {args.workers / per:.1f} programs/s on {args.workers} idle cores"
            print(line)
        ratio = statistics.median(times["sandbox"]) / statistics.median(times["bare subprocess"])
        print(f"  sandbox / bare: {ratio:.2f}x the wall time")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
