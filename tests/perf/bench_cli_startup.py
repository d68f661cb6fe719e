"""Start-up time of ``ns --help`` (target < 0.3 s): prints the median of several runs.

Runs the installed ``ns`` script next to this interpreter when present, else ``python -m skills.cli.app``.
Also lists heavy modules that must NOT be imported at start-up (hydra, omegaconf, httpx, nemo_run).

    python tests/perf/bench_cli_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("hydra", "omegaconf", "httpx", "nemo_run", "yaml", "skills.pipeline")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("ns")
    cmd = [str(script), "--help"] if script.exists() else [sys.executable, "-m", "skills.cli.app", "--help"]
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    probe = ("import sys, skills.cli.app; "
             f"print(','.join(m for m in {HEAVY!r} if any(k == m or k.startswith(m + '.') for k in sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={**os.environ}).stdout.strip()
    print(f"ns --help: median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms "
          f"over {args.runs} runs (target < 300 ms)  [{' '.join(cmd)}]")
    print(f"heavy modules imported at start-up: {loaded or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
