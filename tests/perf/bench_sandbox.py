"""Sandbox overhead: executions/s for a trivial program and for a 20-test problem, next to bare
``python -c pass`` spawns in the same run, at 1 worker and at all cores (goal: per-execution time
within 2x of a bare spawn, scaling with cores). Figures are printed, not asserted.

    python tests/perf/bench_sandbox.py [--runs 120] [--rounds 3] [--workers 1,4] [--isolation auto|bwrap|unshare|none]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from skills.sandbox import Limits, Sandbox  # noqa: E402

PROBLEM = "n = int(input())\nprint(sum(i * i for i in range(n)))\n"  # one "test" = one stdin input
TESTS = [(str(n), f"{sum(i * i for i in range(n))}\n") for n in range(1, 21)]


def rate(task: Callable[[int], None], runs: int, workers: int) -> float:
    """Tasks per second with ``workers`` threads."""
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(task, range(runs)))
    return runs / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default=f"1,{len(os.sched_getaffinity(0))}")
    parser.add_argument("--isolation", default=None)
    parser.add_argument("--python", default=None, help="interpreter for the programs (default: this one)")
    args = parser.parse_args()
    python = args.python or sys.executable
    levels = sorted({int(w) for w in args.workers.split(",")})
    limits = Limits(wall_s=30, cpu_s=30)
    iso = Sandbox(python=python, isolation=args.isolation).isolation()
    print(f"isolation {iso.mode}: network {iso.network}, filesystem {iso.filesystem}, pids {iso.pids}, "
          f"throwaway uid {iso.drop_uid}; interpreter {python}")

    def bare(_):
        subprocess.run([python, "-c", "pass"], check=True)

    for workers in levels:
        sandbox = Sandbox(python=python, workers=workers, isolation=args.isolation)

        def trivial(_, sandbox=sandbox):
            assert sandbox.execute("pass", limits=limits).status == "completed"

        def problem(_, sandbox=sandbox):
            for stdin, expected in TESTS:
                assert sandbox.execute(PROBLEM, stdin=stdin, limits=limits).stdout == expected

        bare(0), trivial(0)  # warm caches (and the isolation probe)
        spawn, exec_rate, problems = [], [], []
        for _ in range(args.rounds):  # interleaved, so a busy moment hits all three alike
            spawn.append(rate(bare, args.runs // args.rounds, workers))
            exec_rate.append(rate(trivial, args.runs // args.rounds, workers))
            problems.append(rate(problem, max(workers, args.runs // args.rounds // 20), workers))
        spawn, exec_rate, problems = (statistics.median(x) for x in (spawn, exec_rate, problems))
        print(f"{workers:>3} worker(s): bare spawn {spawn:6.1f}/s ({1000 * workers / spawn:5.1f} ms each) | "
              f"sandbox trivial {exec_rate:6.1f}/s ({1000 * workers / exec_rate:5.1f} ms each, "
              f"{spawn / exec_rate:.2f}x bare) | 20-test problem {problems:5.2f}/s "
              f"({20 * problems:6.1f} executions/s)")
    print(f"load average {os.getloadavg()[0]:.1f} on {len(os.sched_getaffinity(0))} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
