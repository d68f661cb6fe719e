"""``python -m skills.report EVAL_DIR [--out report.html] [--compare DIR ...]``: behind ``ns report``.

One static HTML file: the summary tables (``skills.metrics.summarize`` itself, with 95%
intervals), per benchmark the pass@k curves, per-seed accuracy with intervals, token histograms by
outcome and a sortable, filterable problem table with a drill-down to every sample; with
``--compare`` the tables of ``ns compare`` (first folder = A). The summary is computed by
``summarize_results`` into a temporary metrics.json, so the results folder is never written to.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.metrics.summarize import result_files, summarize_results
from skills.report import figures
from skills.report.compare import HEADER, CompareResult, compare_dirs, legend, notes, render_text, table_rows
from skills.metrics.compute import read_lockstep
from skills.report.messages import Messages
from skills.report.page import SampleChunks, majority, plotly_js, render
from skills.report.run import bench_config, manifest_entries, run_summary
from skills.report.runs import BenchmarkRun, find_runs, load_benchmark
from skills.report.scores import extractor_for

MAX_FLIPS_SHOWN = 1000  # per direction and benchmark, in the page
SIDE_BY_SIDE = 200  # flipped problems per direction and benchmark whose B samples the page carries
# Default text cap: whole texts while the result files total at most FULL_TEXT_BYTES (the page is
# then about half their size), else each text keeps its head and tail, AUTO_CAP characters in all
# (a 12k x 8 run: ~125-200 MB of HTML instead of ~300+, see tests/perf/bench_report.py).
FULL_TEXT_BYTES = 200_000_000
AUTO_CAP = 4000


def default_text_cap(files: Sequence[Path]) -> int:
    return 0 if sum(f.stat().st_size for f in files) <= FULL_TEXT_BYTES else AUTO_CAP


def parse_tables(text: str) -> List[Dict[str, Any]]:
    """summarize's text tables (title, header, rows; cells split on `` | ``) for the HTML tables."""
    tables = []
    for block in text.split("\n\n\n"):
        lines = [line for line in block.split("\n") if line.strip()]
        if len(lines) < 2 or not lines[0].startswith("-"):
            continue
        split = lambda line: [c.strip() for c in line.split(" | ")]  # noqa: E731
        tables.append({"title": lines[0].strip("-").strip(), "header": split(lines[1]),
                       "rows": [split(line) for line in lines[2:]]})
    return tables


def summary(eval_dir: str, benchmarks: Optional[str], metric_type: Optional[str],
            extra_datasets: Optional[str]) -> Tuple[str, Dict[str, Any]]:
    """(table text, metrics) from summarize_results, written to a temporary file."""
    with tempfile.TemporaryDirectory(prefix="ns-report-") as tmp:
        path = Path(tmp) / "metrics.json"
        text, _ = summarize_results(eval_dir, benchmarks, str(path), metric_type=metric_type, show_ci=True,
                                    extra_datasets=extra_datasets)
        metrics = json.loads(path.read_text()) if path.exists() else {}
    return text, metrics


def bench_payload(run: BenchmarkRun, metric_type: str, metrics: Dict[str, Any], tables: List[Dict[str, Any]],
                  chunk_starts: List[int], run_info: Optional[Dict[str, Any]] = None,
                  messages_note: Optional[str] = None) -> Dict[str, Any]:
    main = run.main
    subsets = run.subset_names()
    sub_index = {s: k for k, s in enumerate(subsets)}
    scores = run.scores[main]
    bench_metrics = metrics.get(run.name, {})
    n = run.num_seeds
    ci = (bench_metrics.get(f"pass@1[avg-of-{n}]") or {}).get(f"{main}_ci95")
    own = {run.name} | {f"{run.name}-{s}" for s in subsets}
    tokens = []
    for t in run.tokens:
        known = [x for x in t if x is not None]
        tokens.append(int(sum(known) / len(known)) if known else None)
    return {
        "name": run.name, "folder": str(run.folder), "metric_type": metric_type, "main": main,
        "methods": run.methods, "seeds": run.seed_labels, "subsets": subsets,
        "tables": [t for t in tables if t["title"] in own],
        "figures": {
            "passk": figures.pass_at_k(run.name, bench_metrics, main, n),
            "seeds": figures.per_seed(run, main, ci),
            "tokens": figures.token_histogram(run, main),
        },
        "problems": {
            "q": run.previews, "exp": run.expected, "ans": [majority(a) for a in run.answers],
            "sub": [sub_index.get(s, -1) if s is not None else -1 for s in run.subsets],
            "sc": [[round(v, 4) for v in p] for p in scores],
            "mean": [round(sum(p) / len(p), 4) for p in scores],
            "c": [sum(1 for v in p if v >= 0.5) for p in scores],
            "tok": tokens, "tr": [sum(1 for f in fs if f == "length") for fs in run.finish],
        },
        "chunk_starts": chunk_starts,
        "run": run_info, "messages_note": messages_note,
    }


def compare_payload(res: CompareResult, side: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The comparison's table, plot, flips and (``side``) where B's samples of flipped problems are."""
    rows = []
    for c, cells in zip(res.comparisons, table_rows(res)):
        r = c.result
        rows.append({"name": c.name, "cells": list(cells), "diff": 100 * c.diff,
                     "low": 100 * (r.low if r else c.diff), "high": 100 * (r.high if r else c.diff),
                     "significant": c.significant, "tested": r is not None, "family": c.family})
    flips = []
    for c in res.comparisons:
        if c.subset is not None:
            continue
        shown = c.flips.a_only[:MAX_FLIPS_SHOWN] + c.flips.b_only[:MAX_FLIPS_SHOWN]
        flips.append({"name": c.name, "a_only": c.flips.a_only[:MAX_FLIPS_SHOWN],
                      "b_only": c.flips.b_only[:MAX_FLIPS_SHOWN], "seeds": list(c.seeds),
                      "means": {str(i): [round(v, 4) for v in c.flips.means[i]] for i in shown if i in c.flips.means}})
    return {
        "a": res.dir_a, "b": res.dir_b, "header": list(HEADER), "rows": rows, "text": render_text(res),
        "legend": legend(res),
        "figure": figures.compare_forest(rows, "B - A with 95% intervals (blue: significant after Holm; grey: not; "
                                               "hollow: too few problems)"),
        "flips": flips, "side": side or {}, "notes": notes(res),
    }


def side_by_side(res: CompareResult, k: int, max_chars: int) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """B's samples of the first SIDE_BY_SIDE flipped problems each way, per benchmark, as compressed
    chunks (element ids ``c<k>-<name>-<j>``): ({bench: {"index": [...], "starts": [...], "id": ...}}, blobs)."""
    side: Dict[str, Any] = {}
    blobs: Dict[str, str] = {}
    entries_b = manifest_entries(Path(res.dir_b))
    for n, c in enumerate(x for x in res.comparisons if x.subset is None):
        run = res.runs_b.get(c.benchmark)
        wanted = sorted(set(c.flips.a_only[:SIDE_BY_SIDE] + c.flips.b_only[:SIDE_BY_SIDE]))
        if run is None or not wanted:
            continue
        entry = entries_b.get(c.benchmark)
        sink = SampleChunks(run.extractor, run.files, max_chars,
                            Messages(bench_config(entry), entry) if entry is not None else None)
        position = 0
        for i, rows in enumerate(read_lockstep(run.files)):
            if position < len(wanted) and i == wanted[position]:
                sink.add(sink.entry(i, rows), position)
                position += 1
            if position == len(wanted):
                break
        prefix = f"c{k}-{n}"
        for j, blob in enumerate(sink.finish()):
            blobs[f"{prefix}-{j}"] = blob
        side[c.benchmark] = {"index": wanted, "starts": sink.starts, "id": prefix}
    return side, blobs


def build_report(eval_dir: str, out: Optional[str] = None, compare: Sequence[str] = (), force: bool = False,
                 benchmarks: Optional[str] = None, metric_type: Optional[str] = None,
                 extra_datasets: Optional[str] = None, max_text_chars: Optional[int] = None,
                 resamples: int = 10_000) -> Tuple[Path, Dict[str, Any]]:
    """Write the report; returns (path, stats for the caller: benchmarks, sizes)."""
    if max_text_chars is not None and max_text_chars < 0:
        raise UsageError(f"--max_text_chars must be >= 0 (0 = no limit), got {max_text_chars}")
    plotly_js()  # fail before any work without plotly
    root, found = find_runs(eval_dir, benchmarks, metric_type, extra_datasets, warn=False)  # summarize warns
    text, metrics = summary(eval_dir, benchmarks, metric_type, extra_datasets)
    tables = parse_tables(text)
    legend = [line for line in text.splitlines() if line.startswith("± = ")]
    payload: Dict[str, Any] = {"tables": tables, "benchmarks": [], "compare": [], "skipped": [],
                               "note": " ".join(["Tables as printed by ns summarize_results --show_ci (values in %).",
                                                 *legend])}
    chunks: List[List[str]] = []
    runs: Dict[str, BenchmarkRun] = {}
    raw = 0
    payload["skipped"] = [f"{b.name}: not summarized (metric type {b.metric_type})" for b in found if b.name not in metrics]
    todo = [b for b in found if b.name in metrics]
    files = {b.name: result_files(b.folder) for b in todo}
    if max_text_chars is None:
        max_text_chars = default_text_cap([f for fs in files.values() for f in fs])
    configs: Dict[str, Any] = {}
    payload["run"] = run_summary(Path(eval_dir), [b.name for b in todo], configs)
    entries = manifest_entries(Path(eval_dir))
    for b in todo:
        try:
            ex = extractor_for(b.metric_type)
        except UsageError as exc:
            payload["skipped"].append(f"{b.name}: {exc.message}")
            continue
        messages = Messages(configs.get(b.name), entries[b.name]) if b.name in entries else None
        sink = SampleChunks(ex, files[b.name], max_text_chars, messages)
        run = load_benchmark(b.folder, ex, sink, files[b.name])
        blobs = sink.finish()
        raw += sink.raw_bytes
        runs[b.name] = run
        info = (payload["run"] or {}).get("benchmarks", {}).get(b.name)
        note = messages.note if messages is not None else "no run manifest: the messages sent are not known"
        payload["benchmarks"].append(bench_payload(run, b.metric_type, metrics, tables, sink.starts, info, note))
        chunks.append(blobs)
    extra: Dict[str, str] = {}
    for k, other in enumerate(compare):
        res = compare_dirs(eval_dir, other, benchmarks=benchmarks, force=force, resamples=resamples,
                           metric_type=metric_type, extra_datasets=extra_datasets, runs_a=runs)
        side, blobs = side_by_side(res, k, max_text_chars)
        extra.update(blobs)
        payload["compare"].append(compare_payload(res, side))
    path = Path(out) if out else root / "report.html"
    where = Path(eval_dir).absolute()
    title = f"Evaluation report: {where.parent.name if where.name == 'eval-results' else where.name}"
    page = render(title, f"{eval_dir} · generated by ns report", payload, chunks, extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path, {"benchmarks": len(payload["benchmarks"]), "bytes": len(page.encode("utf-8")),
                  "sample_json_bytes": raw, "max_text_chars": max_text_chars}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m skills.report", description=__doc__.splitlines()[0])
    p.add_argument("eval_dir", help="<out>, <out>/eval-results, or one benchmark folder")
    p.add_argument("--out", default=None, help="HTML file to write (default <results root>/report.html)")
    p.add_argument("--compare", nargs="+", action="extend", default=[], metavar="DIR",
                   help="also compare these results folders with EVAL_DIR (as ns compare EVAL_DIR DIR)")
    p.add_argument("--force", action="store_true", help="compare even if the data or prompts differ")
    p.add_argument("--benchmarks", "--benchmark", default=None, help="comma-separated benchmark folder names")
    p.add_argument("--metric_type", "--metric-type", default=None, help="override the benchmarks' metric type")
    p.add_argument("--extra_datasets", "--extra-datasets", default=None,
                   help="folder of user-defined benchmarks (their metric types)")
    p.add_argument("--max_text_chars", "--max-text-chars", type=int, default=None,
                   help="longer texts keep their head and tail in the page; 0 = keep everything; default: "
                        f"everything while the result files total <= {FULL_TEXT_BYTES // 10**6} MB, else {AUTO_CAP}")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        path, info = build_report(args.eval_dir, args.out, args.compare, args.force, args.benchmarks,
                                  args.metric_type, args.extra_datasets, args.max_text_chars)
    except UsageError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    print(f"Report written to {path} ({info['bytes'] / 1e6:.1f} MB, {info['benchmarks']} benchmark(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
