"""Time, memory and bytes of ``ns prepare_data ruler`` (RULER's own generators at the reference's
commit), bare and accelerated (``--accelerate``, see skills/benchmarks/ruler/accel.py) in the same run.

Pass 1 runs each task alone, once bare (RULER's scripts as they are) and once accelerated, with N
samples, W runs at a time: the CPU seconds of its processes (user + sys), its wall time, and from
the generator's own tqdm line the wall time of its sample loop; the rest is the fixed part
(start-up: tokenizer and word lists; the haystack size search). 500 samples then cost about
``fixed + 500 x loop / N`` wall seconds alone, converted to CPU seconds at the run's CPU/wall ratio
(the machine's load), summed over the tasks: the projection to 13 x 500. It also compares the two
``test.jsonl`` of every task (sha256): the accelerated files must be the bare ones, byte for byte.
Pass 2 (``--scaling M``) runs all tasks accelerated with ``--num_workers W`` at M, 4M and 16M
samples per task: wall, CPU and the peak memory of all generators together (sampled from /proc).
``--full`` instead runs the real thing accelerated: 500 samples per task (or ``--num_samples``) at
the length, W workers; ``--full_bare`` also runs it bare and compares the bytes (40+ minutes here).

    python tests/perf/bench_ruler_prepare.py [--max_seq_length 131072] [--samples 10] [--tasks a,b]
        [--num_workers 2] [--tokenizer DIR] [--scaling M] [--full [--full_bare]]

Not a test: numbers depend on the machine and its load (CPU seconds less than wall). Needs
.venv-ruler (scripts/setup.sh), a data mirror with RULER's code and inputs (``--mirror``; cwe gets a
stand-in word list when it has no english_words.json, see ``standin_mirror``) and a tokenizer
(default: SmolLM2's in .cache/models). The goal: 13 x 500 at 131072 within 10 minutes on 2 cores,
i.e. about 1,200 CPU s (docs/benchmarks.md, RULER, has the latest figures).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
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
MODES = {"bare": "false", "accel": "true"}
GOAL_CPU = 1200.0  # 10 minutes on 2 cores

MIRROR: List[str] = []  # --mirror DIR --allow_input_mismatch when a stand-in word list is used


def ns_command(tok: str, length: int, samples: int, tasks: str, workers: int, data: Path, mode: str) -> List[str]:
    ns = Path(sys.executable).with_name("ns")
    head = [str(ns)] if ns.exists() else [sys.executable, "-m", "skills.cli.app"]
    return head + ["prepare_data", "ruler", "--setup", "bench", "--tokenizer_path", tok, "--max_seq_length",
                   str(length), "--num_samples", str(samples), "--tasks", tasks, "--num_workers", str(workers),
                   "--accelerate", MODES[mode], "--data_dir", str(data), "--no-prompts", *MIRROR]


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


def digests(setup_dir: Path, tasks: List[str]) -> Dict[str, str]:
    return {t: hashlib.sha256((setup_dir / t / "test.jsonl").read_bytes()).hexdigest() for t in tasks}


def minutes(cpu: float) -> str:
    return f"{cpu / 2 / 60:.1f} min on 2 cores"


def full_run(args, tasks: List[str], env: Dict[str, str], tmp: Path) -> int:
    got = {}
    for mode in (["accel", "bare"] if args.full_bare else ["accel"]):
        data = tmp / f"full-{mode}"
        usage, wall, peak, out = measured(ns_command(args.tokenizer, args.max_seq_length, args.num_samples,
                                                     ",".join(tasks), args.num_workers, data, mode), env)
        size = sum(f.stat().st_size for f in data.rglob("test.jsonl"))
        got[mode] = digests(data / "ruler" / "bench", tasks)
        if mode == "accel":
            print(f"{'task':<16} {'wall s':>7} {'CPU s':>7} {'tokenizer CPU s':>16}  (accelerated, each task's log)")
            walls = dict(re.findall(r"ruler\.bench\.(\w+): \d+ rows in (\d+) s", out))
            for task in tasks:
                log = (data / "ruler" / "bench" / ".logs" / f"{task}.log").read_text(errors="replace")
                cpu = re.findall(r"ruler accel: \S+: ([\d.]+) CPU s in all", log)
                tok = re.findall(r"text_to_tokens calls in ([\d.]+) CPU s", log)
                print(f"{task:<16} {walls.get(task, '?'):>7} {cpu[-1] if cpu else '?':>7} {tok[-1] if tok else '?':>16}")
        print(f"full run, {mode}: {len(tasks)} tasks x {args.num_samples} samples at {args.max_seq_length} tokens, "
              f"{args.num_workers} worker(s): wall {wall:.0f} s ({wall / 60:.1f} min), CPU {usage['cpu']:.0f} s, "
              f"peak memory of all generators {peak:.0f} MB (largest process {usage['maxrss_mb']:.0f} MB), "
              f"output {size / 1e9:.2f} GB", flush=True)
    if args.full_bare:
        same = [t for t in tasks if got["accel"][t] == got["bare"][t]]
        print(f"bytes: {len(same)}/{len(tasks)} tasks identical bare vs accelerated (sha256 of test.jsonl)"
              + ("" if len(same) == len(tasks) else f"; DIFFERENT: {', '.join(t for t in tasks if t not in same)}"))
        return 0 if len(same) == len(tasks) else 1
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tokenizer", default=str(ROOT / ".cache" / "models" / "smollm2-135m-instruct"))
    p.add_argument("--max_seq_length", type=int, default=131072)
    p.add_argument("--samples", type=int, default=10, help="samples per task in pass 1")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--num_workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--scaling", type=int, default=0, metavar="N",
                   help="pass 2: all tasks accelerated at N, 4N and 16N samples per task")
    p.add_argument("--full", action="store_true", help="one real run, accelerated: --num_samples per task")
    p.add_argument("--full_bare", action="store_true", help="with --full: also bare, and compare the bytes")
    p.add_argument("--num_samples", type=int, default=500, help="with --full")
    p.add_argument("--mirror", default=os.environ.get("SKILLS_DATA_MIRROR"),
                   help="data mirror with ruler-upstream/ and ruler/ (default $SKILLS_DATA_MIRROR)")
    args = p.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               SKILLS_PROGRESS_INTERVAL="600")
    tasks = [t for t in args.tasks.split(",") if t]
    with tempfile.TemporaryDirectory(prefix="bench-ruler-") as name:
        tmp = Path(name)
        if args.mirror:
            standin_mirror(Path(args.mirror), tmp / "mirror")
            MIRROR.extend(["--mirror", str(tmp / "mirror"), "--allow_input_mismatch"])
        if args.full:
            return full_run(args, tasks, env, tmp)
        n = args.samples
        print(f"pass 1: each task alone, bare and accelerated, {n} samples at {args.max_seq_length} tokens, "
              f"{args.num_workers} run(s) at a time (tokenizer {args.tokenizer})")
        print(f"{'task':<16} {'mode':<5} {'CPU s':>7} {'wall s':>7} {'loop s':>7} {'fixed s':>8} {'CPU/smpl':>8} "
              f"{'CPU@500':>8} {'peak MB':>8} {'same bytes':>10}", flush=True)

        def one(job: Tuple[str, str]) -> Tuple[dict, float, float, Path]:
            task, mode = job
            data = tmp / f"{task}-{mode}"
            usage, wall, peak, _ = measured(ns_command(args.tokenizer, args.max_seq_length, n, task, 1, data, mode),
                                            env)
            return usage, wall, peak, data / "ruler" / "bench"

        jobs = [(t, m) for t in tasks for m in MODES]
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.num_workers) as pool:
            results = dict(zip(jobs, pool.map(one, jobs)))
        total = {m: 0.0 for m in MODES}
        slowest = {m: 0.0 for m in MODES}
        same = []
        for task in tasks:
            equal = digests(results[(task, "bare")][3], [task]) == digests(results[(task, "accel")][3], [task])
            same += [task] if equal else []
            for mode in MODES:
                usage, wall, peak, root = results[(task, mode)]
                loop = sample_loop_seconds((root / ".logs" / f"{task}.log").read_text(errors="replace"), n)
                fixed = max(0.0, wall - loop)
                ratio = usage["cpu"] / wall  # CPU per wall second of this run (the machine's load)
                est = ratio * (fixed + 500 * loop / n)
                total[mode] += est
                slowest[mode] = max(slowest[mode], est)
                print(f"{task:<16} {mode:<5} {usage['cpu']:7.1f} {wall:7.1f} {loop:7.1f} {fixed:8.1f} "
                      f"{ratio * loop / n:8.3f} {est:8.0f} {peak:8.0f} {'yes' if equal else 'NO':>10}", flush=True)
        k = len(tasks)
        print(f"projected {k} tasks x 500 samples at {args.max_seq_length}: bare {total['bare']:.0f} CPU s "
              f"({minutes(total['bare'])}), accelerated {total['accel']:.0f} CPU s ({minutes(total['accel'])}; "
              f"slowest task {slowest['accel'] / 60:.1f} min): {total['bare'] / max(total['accel'], 1e-9):.1f}x less "
              + (f"CPU; goal {GOAL_CPU:.0f} CPU s (10 min on 2 cores): "
                 + ("met" if total["accel"] <= GOAL_CPU else f"{total['accel'] / GOAL_CPU:.2f}x over")
                 if (args.max_seq_length, k) == (131072, len(TASKS)) else "CPU (the goal is for the 13 at 131072)"))
        print(f"bytes: {len(same)}/{k} tasks identical bare vs accelerated (sha256 of test.jsonl)"
              + ("" if len(same) == k else f"; DIFFERENT: {', '.join(t for t in tasks if t not in same)}"), flush=True)
        if args.scaling:
            print(f"pass 2: all {k} tasks accelerated, --num_workers {args.num_workers}")
            print(f"{'work':<5} {'samples':>7} {'wall s':>7} {'CPU s':>7} {'CPU/smpl':>9} {'peak MB':>8}", flush=True)
            base = args.scaling
            for scale in (1, 4, 16):
                usage, wall, peak, _ = measured(ns_command(args.tokenizer, args.max_seq_length, base * scale,
                                                           ",".join(tasks), args.num_workers, tmp / f"scale{scale}",
                                                           "accel"), env)
                print(f"{scale:>3}x  {base * scale:7d} {wall:7.0f} {usage['cpu']:7.0f} "
                      f"{usage['cpu'] / (base * scale * k):9.3f} {peak:8.0f}", flush=True)
        return 0 if len(same) == k else 1


if __name__ == "__main__":
    sys.exit(main())
