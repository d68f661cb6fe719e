"""Time and memory of ``ns prepare_data ruler`` (RULER's own generators at the reference's commit),
measured, then extrapolated.

Pass 1 runs each task alone (one worker per run, W runs at a time) with N samples: the CPU seconds
of its processes (user + sys), its wall time, and from the generator's own tqdm line the wall time
of its sample loop; the rest is the fixed part (start-up: tokenizer and word lists; the haystack
size search; the package description). 500 samples then take about ``fixed + 500 x loop / N`` wall
seconds alone, converted to CPU seconds at the run's CPU/wall ratio (the machine's load). Pass 2 runs all tasks at once with ``--num_workers W``: wall time and the
peak memory of all generators together (sampled from /proc). ``--full`` instead runs the real thing
once: 500 samples per task (or ``--num_samples``) at 131072 tokens with W workers.

    python tests/perf/bench_ruler_prepare.py [--max_seq_length 8192] [--samples 10] [--tasks a,b]
        [--num_workers 2] [--tokenizer DIR] [--skip_pass2] [--full]

The default (8192 tokens) takes a few minutes and mostly measures start-up; ``--max_seq_length
131072 --samples 3`` models the tutorial's setup. Not a test: numbers depend on the machine and its
load. Needs .venv-ruler (scripts/setup.sh), a data mirror with RULER's code and inputs (``--mirror``;
cwe gets a stand-in word list when it has no english_words.json, see ``standin_mirror``) and a
tokenizer (default: SmolLM2's in .cache/models). The goal: 13 x 500 at 131072 within 10 minutes on
2 cores (docs/benchmarks.md, RULER, says how far off it is).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
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


MIRROR: List[str] = []  # --mirror DIR --allow_input_mismatch when a stand-in word list is used


def ns_command(tok: str, length: int, samples: int, tasks: str, workers: int, data: Path) -> List[str]:
    ns = Path(sys.executable).with_name("ns")
    head = [str(ns)] if ns.exists() else [sys.executable, "-m", "skills.cli.app"]
    return head + ["prepare_data", "ruler", "--setup", "bench", "--tokenizer_path", tok, "--max_seq_length",
                   str(length), "--num_samples", str(samples), "--tasks", tasks, "--num_workers", str(workers),
                   "--data_dir", str(data), "--no-prompts", *MIRROR]


def standin_mirror(mirror: Path, dest: Path) -> None:
    """``mirror`` plus a stand-in ``ruler/english_words.json`` when it has none (RULER's is a Git LFS
    object): 100,000 wonderwords adjective-noun pairs, so cwe can draw the >8,169 distinct words a
    long context needs. Timing only: cwe's rows then differ from the reference's."""
    import itertools

    dest.mkdir(parents=True)
    for entry in mirror.iterdir():
        if entry.name != "ruler":
            (dest / entry.name).symlink_to(entry)
    (dest / "ruler").mkdir()
    for entry in (mirror / "ruler").iterdir():
        (dest / "ruler" / entry.name).symlink_to(entry)
    if not (dest / "ruler" / "english_words.json").exists():
        lists = mirror / "ruler" / "wonderwords-2.2.0"
        nouns, adjs = [(lists / f).read_text().splitlines() for f in ("nounlist.txt", "adjectivelist.txt")]
        pairs = itertools.islice((f"{a}{n}" for a in adjs for n in nouns if a and n), 100_000)
        (dest / "ruler" / "english_words.json").write_text(json.dumps({str(i): w for i, w in enumerate(pairs)}))


def sample_loop_seconds(log: str, samples: int) -> float:
    """Wall time of the generator's sample loop, from its last tqdm line for N samples: the elapsed
    field (1 s resolution), or N / rate when the loop took under 20 s."""
    found = re.findall(rf"{samples}/{samples} \[([\d:]+)<[^,\]]*,\s*([\d.]+)(it/s|s/it)\]", log)
    if not found:
        return 0.0
    clock, rate, unit = found[-1]
    elapsed = 0.0
    for part in clock.split(":"):
        elapsed = elapsed * 60 + int(part)
    if elapsed >= 20 or float(rate) == 0:
        return elapsed
    return samples / float(rate) if unit == "it/s" else samples * float(rate)


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
    p.add_argument("--samples", type=int, default=10, help="samples per task in both passes")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--num_workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--full", action="store_true", help="one real run: 131072 tokens, 500 samples per task")
    p.add_argument("--skip_pass2", action="store_true", help="pass 1 only")
    p.add_argument("--num_samples", type=int, default=500, help="with --full")
    p.add_argument("--mirror", default=os.environ.get("SKILLS_DATA_MIRROR"),
                   help="data mirror with ruler-upstream/ and ruler/ (default $SKILLS_DATA_MIRROR)")
    args = p.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               SKILLS_PROGRESS_INTERVAL="600")
    tasks = [t for t in args.tasks.split(",") if t]
    with tempfile.TemporaryDirectory(prefix="bench-ruler-") as tmp:
        if args.mirror:
            standin_mirror(Path(args.mirror), Path(tmp) / "mirror")
            MIRROR.extend(["--mirror", str(Path(tmp) / "mirror"), "--allow_input_mismatch"])
        if args.full:
            usage, wall, peak, out = measured(ns_command(args.tokenizer, 131072, args.num_samples, ",".join(tasks),
                                                         args.num_workers, Path(tmp) / "full"), env)
            size = sum(f.stat().st_size for f in (Path(tmp) / "full").rglob("test.jsonl"))
            print(out)
            print(f"full run: {len(tasks)} tasks x {args.num_samples} samples at 131072 tokens, {args.num_workers} "
                  f"worker(s): wall {wall:.0f} s, CPU {usage['cpu']:.0f} s, peak memory of all generators "
                  f"{peak:.0f} MB (largest process {usage['maxrss_mb']:.0f} MB), output {size / 1e9:.2f} GB")
            return 0
        n = args.samples
        print(f"pass 1: each task alone with {n} samples at {args.max_seq_length} tokens (tokenizer {args.tokenizer})")
        print(f"{'task':<16} {'CPU s':>7} {'wall s':>7} {'loop s':>7} {'fixed s':>8} {'s/smpl':>7} {'CPU@500':>8} "
              f"{'peak MB':>8} {'MB@500':>7}")

        def one(task: str) -> Tuple[dict, float, float, Path]:
            data = Path(tmp) / task
            usage, wall, peak, _ = measured(ns_command(args.tokenizer, args.max_seq_length, n, task, 1, data), env)
            return usage, wall, peak, data / "ruler" / "bench"

        with concurrent.futures.ThreadPoolExecutor(max_workers=args.num_workers) as pool:
            results = dict(zip(tasks, pool.map(one, tasks)))
        total500, largest, slowest = 0.0, 0.0, 0.0
        for task in tasks:
            usage, wall, peak, root = results[task]
            loop = sample_loop_seconds((root / ".logs" / f"{task}.log").read_text(errors="replace"), n)
            fixed = max(0.0, wall - loop)
            est = usage["cpu"] * (fixed + 500 * loop / n) / wall  # CPU, at this run's CPU/wall ratio
            size = (root / task / "test.jsonl").stat().st_size / n * 500 / 1e6
            total500, largest, slowest = total500 + est, max(largest, peak), max(slowest, est)
            print(f"{task:<16} {usage['cpu']:7.1f} {wall:7.1f} {loop:7.1f} {fixed:8.1f} {loop / n:7.2f} {est:8.0f} "
                  f"{peak:8.0f} {size:7.0f}")
        print(f"estimate for {len(tasks)} tasks x 500 samples at {args.max_seq_length}: {total500:.0f} CPU-s; "
              f"wall >= {total500 / 2 / 60:.1f} min on 2 cores, >= {slowest / 60:.1f} min (slowest task) with one "
              f"core per task")
        if args.skip_pass2:
            return 0
        usage, wall, peak, _ = measured(ns_command(args.tokenizer, args.max_seq_length, n, ",".join(tasks),
                                                   args.num_workers, Path(tmp) / "all"), env)
        print(f"pass 2: {len(tasks)} tasks x {n} samples, {args.num_workers} worker(s): wall {wall:.0f} s, "
              f"CPU {usage['cpu']:.0f} s, peak memory of all generators {peak:.0f} MB "
              f"(largest process {usage['maxrss_mb']:.0f} MB; one task alone peaked at {largest:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
