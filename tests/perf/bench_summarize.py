"""Speed of ``summarize`` on an MMLU-Pro-sized result folder (12,032 problems x 8 seeds).

Prints (a) the time to merely parse every JSONL line with ``json.loads``, (b) the time of the full
``summarize`` (parse + metrics + tables + metrics.json), and their ratio. Targets on a 2-core
machine: (b) < 2 s and (b) / (a) < 3. Not a test: timings depend on the machine.

    python tests/perf/bench_summarize.py [--problems 12032] [--seeds 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

from skills.metrics.summarize import main as summarize_main

CATEGORIES = [
    "biology", "business", "chemistry", "computer_science", "economics", "engineering", "health",
    "history", "law", "math", "other", "philosophy", "physics", "psychology",
]
LETTERS = "ABCDEFGHIJ"
WORDS = "the of model answer step value consider therefore compute option because result so".split()


def _text(rng: random.Random, chars: int) -> str:
    out, size = [], 0
    while size < chars:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)


def make_results(root: Path, problems: int, seeds: int, seed: int = 0) -> Path:
    """Write ``<root>/eval-results/mmlu-pro/output-rs<i>.jsonl`` with realistic-looking rows."""
    rng = random.Random(seed)
    bench = root / "eval-results" / "mmlu-pro"
    bench.mkdir(parents=True, exist_ok=True)
    base = [(_text(rng, 500), rng.choice(LETTERS), CATEGORIES[i % len(CATEGORIES)]) for i in range(problems)]
    filler = [_text(rng, 2000) for _ in range(64)]
    for s in range(seeds):
        with open(bench / f"output-rs{s}.jsonl", "w") as f:
            t0 = 1_752_000_000.0 + s
            for i, (problem, expected, cat) in enumerate(base):
                pred = expected if rng.random() < 0.7 else (None if rng.random() < 0.05 else rng.choice(LETTERS))
                start = t0 + i * 0.01
                row = {
                    "problem": problem, "expected_answer": expected, "subset_for_metrics": cat,
                    "generation": filler[(i + s) % 64] + f" Answer: {pred}",
                    "predicted_answer": pred, "symbolic_correct": pred == expected,
                    "num_generated_tokens": rng.randint(200, 16000),
                    "generation_start_time": start, "generation_end_time": start + rng.uniform(1, 60),
                }
                f.write(json.dumps(row) + "\n")
    return root


def time_parse(root: Path) -> float:
    t = time.perf_counter()
    for path in sorted((root / "eval-results" / "mmlu-pro").glob("*.jsonl")):
        with open(path, "rb") as f:
            for line in f:
                json.loads(line)
    return time.perf_counter() - t


def time_summarize(root: Path) -> float:
    t = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        rc = summarize_main([str(root)])
    assert rc == 0
    return time.perf_counter() - t


def run() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=12032)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = make_results(Path(tmp), args.problems, args.seeds)
        size = sum(p.stat().st_size for p in (root / "eval-results" / "mmlu-pro").glob("*.jsonl"))
        parse = min(time_parse(root) for _ in range(args.repeat))
        summ = min(time_summarize(root) for _ in range(args.repeat))
    print(f"data: {args.problems} problems x {args.seeds} seeds, {size / 1e6:.0f} MB")
    print(f"(a) json.loads of every line: {parse:.3f} s")
    print(f"(b) summarize:                {summ:.3f} s")
    print(f"ratio (b)/(a):                {summ / parse:.2f}")


if __name__ == "__main__":
    run()
