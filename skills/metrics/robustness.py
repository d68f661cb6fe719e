"""``python -m skills.metrics.robustness RESULTS_DIR``: the program behind ``ns summarize_robustness``
(the reference's ``nemo_skills.pipeline.summarize_robustness``), run by ``ns robust_eval`` when all
its evals are done.

``RESULTS_DIR`` holds one folder per benchmark and in it one folder per prompt (what
``ns robust_eval`` writes: ``<out>/<benchmark>/<prompt>/eval-results/<benchmark>/output-rs*.jsonl``);
every ``output-rs*.jsonl`` below a prompt folder is one run (greedy ``output.jsonl`` files are not
counted, as in the reference). Per run: the accuracy (pass@1 ``symbolic_correct`` of the math metrics,
so math and multiple-choice results both work) and the share of rows without an answer
(``no_answer``). Per prompt, over its runs: min, max, avg, std (population) of the accuracy, the mean
``no_answer`` and the consistency rate ``CR``; per benchmark, over every run of every prompt: min,
max, avg, std, CR and ``prompt_sensitivity`` (the population std of the prompts' averages).

CR: for each row index, every pair of the runs' ``predicted_answer`` values is compared; a pair
agrees when both are equal and not both missing; CR is 100 x agreeing pairs / pairs, rounded to 2
decimals (100 when there is no pair). Tables are printed in the reference's layout and every number
is saved to ``--save_metrics_path`` (default ``RESULTS_DIR/metrics.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.data.io import atomic_open, iter_jsonl
from skills.data.manifest import RUNS
from skills.metrics.compute import compute_metrics
from skills.metrics.types import make_scorer

RUN_GLOB = "**/output-rs*.jsonl"
BENCH_FIELDS = ("min", "max", "avg", "std", "CR", "prompt_sensitivity")
PROMPT_FIELDS = ("min", "max", "avg", "std", "CR", "no_answer")


def run_scores(path: Path) -> Tuple[float, float]:
    """(accuracy, no_answer) of one run, in percent: the math metrics' pass@1 of that file alone."""
    metrics = compute_metrics("custom", [path], make_scorer("math"))["custom"]["pass@1"]
    if "symbolic_correct" not in metrics:
        raise UsageError(f"{path}: rows have no symbolic_correct (not graded as math or multiple choice)")
    return float(metrics["symbolic_correct"]), float(metrics.get("no_answer", 0.0))


def consistency_rate(files: Sequence[Path]) -> float:
    """Agreeing pairs of predicted answers per row index over the runs, in percent (see the module doc)."""
    per_row: Dict[int, List[Any]] = defaultdict(list)
    for path in files:
        for lineno, row in iter_jsonl(Path(path)):
            if not isinstance(row, dict) or "predicted_answer" not in row:
                raise UsageError(f"{path}:{lineno}: no predicted_answer (the file is not graded)")
            per_row[lineno - 1].append(row["predicted_answer"])
    agree = pairs = 0
    for answers in per_row.values():
        for a, b in combinations(answers, 2):
            agree += a == b and not (a is None and b is None)
            pairs += 1
    return 100.0 if pairs == 0 else round(agree / pairs * 100, 2)


def _stats(values: List[float]) -> Dict[str, float]:
    return {"min": min(values), "max": max(values), "avg": statistics.fmean(values), "std": statistics.pstdev(values)}


def runs_of(folder: Path) -> List[Path]:
    return sorted(p for p in folder.glob(RUN_GLOB) if p.is_file())


def find_benchmarks(results_dir: Path) -> List[Path]:
    """Benchmark folders (not ``summarize*`` ones); each must hold at least one output file."""
    if not results_dir.is_dir():
        raise UsageError(f"results folder not found: {results_dir}")
    # not summarize_robustness/ (logs) nor the run records our planners keep beside the results
    found = sorted(p for p in results_dir.iterdir()
                   if p.is_dir() and not p.name.startswith(".") and "summarize" not in p.name and p.name != RUNS)
    for bench in found:
        if not any(bench.glob("**/output*jsonl")):
            raise UsageError(f"the benchmark folder {bench} holds no output*jsonl files")
    return found


def robustness_metrics(results_dir: Path, say=print) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """``{benchmark: {prompt: {...}, "aggregated": {...}}}`` for the folders of ``results_dir``."""
    out: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for bench in find_benchmarks(results_dir):
        metrics: Dict[str, Dict[str, Any]] = {}
        every_run: List[float] = []
        for prompt in sorted(p for p in bench.iterdir() if not p.name.startswith(".")):
            files = runs_of(prompt) if prompt.is_dir() else []
            if not files:
                say(f"No input files found for prompt {prompt}")
                continue
            scores = [run_scores(f) for f in files]
            accuracy = [s[0] for s in scores]
            metrics[prompt.name] = {**_stats(accuracy), "no_answer": statistics.fmean(s[1] for s in scores),
                                    "num_seeds": len(accuracy), "CR": consistency_rate(files)}
            every_run.extend(accuracy)
        if not every_run:
            raise UsageError(f"no output-rs*.jsonl runs in any prompt folder of {bench}")
        metrics["aggregated"] = {**_stats(every_run), "num_runs": len(every_run), "CR": consistency_rate(runs_of(bench)),
                                 "prompt_sensitivity": statistics.pstdev(m["avg"] for k, m in metrics.items())}
        out[bench.name] = metrics
    return out


def _row(label: str, values: Dict[str, Any], fields: Sequence[str]) -> str:
    return f"{label:<20} | " + " | ".join(f"{values[f]:.2f}".center(7) for f in fields)


def render(metrics: Dict[str, Dict[str, Dict[str, Any]]]) -> str:
    """The reference's tables: one line per benchmark, then per benchmark one line per prompt (lowest
    average first)."""
    lines: List[str] = []
    header = f"{'dataset':<20} | " + " | ".join(f.center(7) for f in BENCH_FIELDS)
    lines += [header, "-" * len(header)]
    for bench, m in metrics.items():
        lines.append(_row(f"{bench}@{m['aggregated']['num_runs']}", m["aggregated"], BENCH_FIELDS))
    lines += ["", ""]
    for bench, m in metrics.items():
        # the title is as wide as the header printed before it (the reference's layout, kept)
        lines.append(f" {bench} ".center(len(header), "-"))
        seeds = m["aggregated"]["num_runs"] // (len(m) - 1)
        header = f"{'prompt@' + str(seeds):<20} | " + " | ".join(f.center(7) for f in PROMPT_FIELDS)
        lines += [header, "-" * len(header)]
        prompts = sorted(((k, v) for k, v in m.items() if k != "aggregated"), key=lambda kv: kv[1]["avg"])
        lines += [_row(name, values, PROMPT_FIELDS) for name, values in prompts]
        lines += ["", ""]
    return "\n".join(lines) + "\n"


def summarize_robustness(results_dir: str, save_metrics_path: Optional[str] = None) -> int:
    root = Path(results_dir)
    if root.is_dir() and not find_benchmarks(root):
        print(f"No benchmarks found in {root}")
        return 0
    print("Calculating robustness metrics for benchmarks found:", ", ".join(b.name for b in find_benchmarks(root)))
    metrics = robustness_metrics(root)
    sys.stdout.write(render(metrics))
    path = Path(save_metrics_path) if save_metrics_path else root / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as fout:
        json.dump(metrics, fout, indent=2)
    print(f"Metrics are saved to {path}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m skills.metrics.robustness", description=__doc__.splitlines()[0])
    p.add_argument("results_dir", help="folder with <benchmark>/<prompt>/ result folders (ns robust_eval's)")
    p.add_argument("--save_metrics_path", "--save-metrics-path", default=None)
    args = p.parse_args(argv)
    try:
        return summarize_robustness(args.results_dir, args.save_metrics_path)
    except UsageError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
