"""Time and memory of ``ns prepare_data ruler`` (RULER's own generators), measured, then extrapolated.

Pass 1, each task alone (one worker), twice: with N1 then N2 samples. The CPU seconds of the
generator processes (user + sys) give a cost per sample (the difference) and a fixed cost (tokenizer
and word-list start-up, the haystack size search, the package description); 500 samples then cost
``fixed + 500 x per_sample`` at that length. Pass 2: all tasks at once with ``--num_workers W`` and
N2 samples: wall time and the peak memory of all generators together (sampled from /proc).
``--full`` instead runs the real thing once: 500 samples per task (or ``--num_samples``) at
131072 tokens with W workers, which takes about an hour on 2 idle cores.

    python tests/perf/bench_ruler_prepare.py [--max_seq_length 8192] [--samples 2,6] [--tasks a,b]
        [--num_workers 2] [--tokenizer DIR] [--full]

Not a test: numbers depend on the machine and its load (read CPU seconds on a busy machine). Needs
.venv-ruler (scripts/setup.sh) and a tokenizer (default: SmolLM2's in .cache/models).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from skills.benchmarks.ruler import TASKS  # noqa: E402

RUSAGE = ("import json, resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
          "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
          "print(json.dumps({'rc': rc, 'cpu': u.ru_utime + u.ru_stime, 'maxrss_mb': u.ru_maxrss / 1024}), file=sys.stderr)")


def ns_command(tok: str, length: int, samples: int, tasks: str, workers: int, data: Path) -> List[str]:
    ns = Path(sys.executable).with_name("ns")
    head = [str(ns)] if ns.exists() else [sys.executable, "-m", "skills.cli.app"]
    return head + ["prepare_data", "ruler", "--setup", "bench", "--tokenizer_path", tok, "--max_seq_length",
                   str(length), "--num_samples", str(samples), "--tasks", tasks, "--num_workers", str(workers),
                   "--data_dir", str(data), "--no-prompts"]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants."""
    parent: Dict[int, int] = {}
    rss: Dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parent[int(entry)] = int(fields.get("PPid", "0").strip())
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += [c for c, pp in parent.items() if pp == p]
    return total / 1024


def measured(argv: List[str], env: Dict[str, str]) -> Tuple[dict, float, float, str]:
    """(rusage of the children, wall s, peak tree RSS MB, stdout) of one command."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", RUSAGE, *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            peak[0] = max(peak[0], tree_rss_mb(proc.pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    stop.set()
    thread.join()
    usage = json.loads(err.strip().splitlines()[-1])
    if usage["rc"] != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{out[-2000:]}\n{err[-2000:]}")
    return usage, time.monotonic() - start, peak[0], out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tokenizer", default=str(ROOT / ".cache" / "models" / "smollm2-135m-instruct"))
    p.add_argument("--max_seq_length", type=int, default=8192)
    p.add_argument("--samples", default="2,6", help="N1,N2 of pass 1 (N2 also for pass 2)")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--num_workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--full", action="store_true", help="one real run: 131072 tokens, 500 samples per task")
    p.add_argument("--num_samples", type=int, default=500, help="with --full")
    args = p.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               SKILLS_PROGRESS_INTERVAL="600")
    tasks = [t for t in args.tasks.split(",") if t]
    with tempfile.TemporaryDirectory(prefix="bench-ruler-") as tmp:
        if args.full:
            usage, wall, peak, out = measured(ns_command(args.tokenizer, 131072, args.num_samples, ",".join(tasks),
                                                         args.num_workers, Path(tmp) / "full"), env)
            size = sum(f.stat().st_size for f in (Path(tmp) / "full").rglob("test.jsonl"))
            print(out)
            print(f"full run: {len(tasks)} tasks x {args.num_samples} samples at 131072 tokens, {args.num_workers} "
                  f"worker(s): wall {wall:.0f} s, CPU {usage['cpu']:.0f} s, peak memory of all generators "
                  f"{peak:.0f} MB (largest process {usage['maxrss_mb']:.0f} MB), output {size / 1e9:.2f} GB")
            return 0
        n1, n2 = (int(x) for x in args.samples.split(","))
        print(f"pass 1: each task alone, {n1} then {n2} samples at {args.max_seq_length} tokens "
              f"(tokenizer {args.tokenizer})")
        print(f"{'task':<16} {'cpu@' + str(n1):>8} {'cpu@' + str(n2):>8} {'per smpl':>9} {'fixed':>7} "
              f"{'est@500':>8} {'peak MB':>8} {'MB@500':>7}")
        total500, largest, slowest = 0.0, 0.0, 0.0
        for task in tasks:
            cpu = []
            for n in (n1, n2):
                data = Path(tmp) / f"{task}-{n}"
                usage, _, peak, _ = measured(ns_command(args.tokenizer, args.max_seq_length, n, task, 1, data), env)
                cpu.append(usage["cpu"])
                largest = max(largest, peak)
            per = max(0.0, (cpu[1] - cpu[0]) / (n2 - n1))
            fixed = max(0.0, cpu[0] - n1 * per)
            est = fixed + 500 * per
            size = (data / "ruler" / "bench" / task / "test.jsonl").stat().st_size / n2 * 500 / 1e6
            total500 += est
            slowest = max(slowest, est)
            print(f"{task:<16} {cpu[0]:8.1f} {cpu[1]:8.1f} {per:9.2f} {fixed:7.1f} {est:8.0f} {peak:8.0f} {size:7.0f}")
        print(f"estimate for {len(tasks)} tasks x 500 samples at {args.max_seq_length}: {total500:.0f} CPU-s; "
              f"wall >= {total500 / 2 / 60:.1f} min on 2 cores, >= {slowest / 60:.1f} min (slowest task) with one "
              f"core per task")
        usage, wall, peak, _ = measured(ns_command(args.tokenizer, args.max_seq_length, n2, ",".join(tasks),
                                                   args.num_workers, Path(tmp) / "all"), env)
        print(f"pass 2: {len(tasks)} tasks x {n2} samples, {args.num_workers} worker(s): wall {wall:.0f} s, "
              f"CPU {usage['cpu']:.0f} s, peak memory of all generators {peak:.0f} MB "
              f"(largest process {usage['maxrss_mb']:.0f} MB; one task alone peaked at {largest:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
