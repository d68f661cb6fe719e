"""``python -m skills.metrics.summarize RESULTS_DIR``: the program behind ``ns summarize_results``.

Finds benchmark folders (pipeline.md 5.1), computes their metrics, prints the reference's tables and
writes ``metrics.json`` (``--save_metrics_path`` or ``<results root>/metrics.json``; what-if
summaries with ``--max_seq_len`` / ``--max_samples`` go beside it, see ``metrics_name``). The option
names are the reference's; ``--show_ci`` is ours: it adds 95% confidence intervals of
pass@1[avg-of-k] to the table AND to metrics.json (``<metric>_ci95``), so that without it both
outputs stay identical to the reference's. The seeds of one table must have been made with the same
settings (their ``.settings.json``, ``skills.data.recorded``): else the benchmark is refused, or
with ``--split_by_settings`` gets one table per setting.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.data.io import atomic_open
from skills.data.recorded import group_by_settings, label, mixed_refusal, varying
from skills.metrics.base import Metrics, Scorer
from skills.metrics.compute import compute_metrics
from skills.metrics.groups import add_benchmark_groups
from skills.metrics.provenance import WORDING_KEY, bench_sources, marks, sidecar_path, table_warning
from skills.metrics.table import render_table
from skills.metrics.types import make_scorer, metric_type_for
from skills.registry.benchmarks import dataset_group_members, is_dataset_group


def _has_outputs(path: Path) -> bool:
    return any(path.glob("output*jsonl")) or any(path.glob("output*.jsonl-async"))


def find_benchmarks(results_dir: Path, wanted: Optional[List[str]] = None, extra_datasets: Optional[str] = None,
                    ) -> Tuple[Path, List[Path], Dict[str, List[str]]]:
    """(root for metrics.json, benchmark folders in sorted order, groups: name -> member names).

    A group folder (``eval-results/bfcl_v3/bfcl_v3.<split>/``) holds member folders instead of
    outputs; ``results_dir`` may also be such a group folder itself. A wanted dataset group
    (``math``) stands for those of its members that have results here.
    """
    if not results_dir.is_dir():
        raise UsageError(f"Results folder {results_dir} does not exist")
    groups: Dict[str, List[str]] = {}
    if _has_outputs(results_dir):
        root, dirs = results_dir, [results_dir]
    else:
        root = results_dir / "eval-results" if (results_dir / "eval-results").is_dir() else results_dir
        dirs = []
        for d in sorted(p for p in root.iterdir() if p.is_dir() and "-logs" not in p.name):
            members = sorted(p for p in d.iterdir() if p.is_dir() and _has_outputs(p)) if not _has_outputs(d) else []
            if members:
                groups[d.name] = [m.name for m in members]
                dirs.extend(members)
            else:
                dirs.append(d)
        if dirs and all(d.name.startswith(root.name + ".") for d in dirs) and not groups:
            groups[root.name] = [d.name for d in dirs]  # summarize run on a group folder itself
        if root is results_dir and not dirs:
            raise UsageError(f"{results_dir} does not contain any valid eval-results or output*jsonl files")
    if wanted is not None:
        names = {d.name for d in dirs}
        wanted = _dataset_groups_expanded(wanted, names | set(groups), root, extra_datasets)
        missing = [w for w in wanted if w not in names and w not in groups]
        if missing:
            found = ", ".join(sorted(names | set(groups))) or "none"
            raise UsageError(f"Benchmark(s) {', '.join(missing)} not found in {root} (found: {found})")
        keep = set(wanted) | {m for g in wanted if g in groups for m in groups[g]}
        dirs = [d for d in dirs if d.name in keep]
        groups = {g: m for g, m in groups.items() if g in wanted}
    for d in dirs:
        if not _has_outputs(d):
            raise UsageError(f"Benchmark folder {d} has no output*jsonl files")
    return root, dirs, groups


def _dataset_groups_expanded(wanted: List[str], found: set, root: Path, extra_datasets: Optional[str]) -> List[str]:
    out: List[str] = []
    for name in wanted:
        if name in found or not is_dataset_group(name, extra_datasets):
            out.append(name)
            continue
        members = [m for m in dataset_group_members(name, extra_datasets) if m in found]
        if not members:
            raise UsageError(f"no results of dataset group '{name}' in {root} "
                             f"(found: {', '.join(sorted(found)) or 'none'})")
        out += [m for m in members if m not in out]
    return out


SEED_FILE = re.compile(r"output-rs(\d+)\.jsonl")
SEED_PART = re.compile(r"output-rs(\d+)(?:_chunk_\d+)?\.jsonl(?:-async)?")


def result_files(bench_dir: Path, fail_on_incomplete: bool = False) -> List[Path]:
    """Greedy ``output.jsonl`` alone, or the seed files ``output-rs<N>.jsonl``, sorted as strings.

    Only the layout's own names count (a stray ``output-rs0.backup.jsonl`` is not a fifth seed).
    A seed is incomplete while its journal or chunks exist without the final file, or when its
    file lacks the ``.done`` marker that every other file has (written, not graded yet); incomplete
    seeds are skipped with a warning, or are an error with ``fail_on_incomplete``."""
    greedy = bench_dir / "output.jsonl"
    names = {p.name for p in bench_dir.iterdir()}
    sampled = sorted((bench_dir / n for n in names if SEED_FILE.fullmatch(n)), key=lambda p: str(p))
    if greedy.exists() and sampled:
        raise UsageError(
            f"{bench_dir} has both output.jsonl (greedy) and sampled files ({sampled[0].name}, ...); remove one kind"
        )
    files = [greedy] if greedy.exists() else sampled
    in_progress = sorted({int(m.group(1)) for n in names if (m := SEED_PART.fullmatch(n))
                          and f"output-rs{m.group(1)}.jsonl" not in names})
    marked = any((bench_dir / (f.name + ".done")).exists() for f in files)
    ungraded = [f for f in files if marked and not (bench_dir / (f.name + ".done")).exists()]
    problems = [f"seed {i} is still being generated (or was interrupted)" for i in in_progress]
    problems += [f"{f.name} is written but not done (no {f.name}.done: still grading, or failed)" for f in ungraded]
    if problems:
        msg = f"{bench_dir.name}: " + "; ".join(problems)
        if fail_on_incomplete:
            raise UsageError(msg)
        print(f"Warning: {msg}; summarizing the complete seeds only", file=sys.stderr)
        files = [f for f in files if f not in ungraded]
    strays = sorted(n for n in names if n.endswith(".jsonl") and n != "output.jsonl" and not SEED_FILE.fullmatch(n)
                    and "_chunk_" not in n)
    if strays and files:
        print(f"Warning: {bench_dir.name}: ignoring {', '.join(strays)} (not a result file name)", file=sys.stderr)
    if not files:
        aside = sorted(p.name for p in bench_dir.glob(".output*.jsonl.previous"))
        hint = (f"; a rerun that did not complete keeps the previous results in {', '.join(aside)} (finish the "
                "rerun, or rename them back)") if aside else ""
        raise UsageError(f"{bench_dir} has no complete result files (output.jsonl or output-rs<N>.jsonl){hint}")
    return files


def legend(blocks: List[List[str]], show_ci: bool) -> List[str]:
    """One line under the tables saying what their ``±`` (and ``[low, high]``) mean, when they have any.
    The tables themselves stay byte for byte the reference's."""
    text = "\n".join(line for lines in blocks for line in lines)
    if " ± " not in text:
        return []
    line = ("± = standard deviation of the score across seeds (each seed's score over all problems, ddof=1): "
            "how much one run varies, not the uncertainty of the average")
    if show_ci and "%]" in text:
        line += "; [low, high] = 95% t interval of the average over seeds"
    return [line]


def metrics_name(max_seq_len: Optional[int] = None, max_samples: int = -1) -> str:
    """``metrics.json``, or for a what-if summary (``--max_seq_len``, ``--max_samples``) a file beside
    it named after the question (``metrics-max_seq_len-8192.json``), so the run's own numbers are
    never replaced by a hypothetical; ``--save_metrics_path`` still writes wherever it is told."""
    parts = ([f"max_seq_len-{max_seq_len}"] if max_seq_len is not None else []) + (
        [f"max_samples-{max_samples}"] if max_samples is not None and max_samples >= 0 else [])
    return "metrics.json" if not parts else f"metrics-{'-'.join(parts)}.json"


def settings_parts(bench: str, files: List[Path], split: bool) -> Tuple[List[Tuple[str, List[Path]]], List[Path]]:
    """The seed files of one table: [("", files)] when every file that records its settings
    (``skills.data.recorded``) records the same ones, else a UsageError naming the seeds and what
    differs, or with ``split`` one part per setting (" [temperature=0.6]" added to its name);
    and the files that record none (an earlier version's: not compared)."""
    groups, unknown = group_by_settings(files)
    if len(groups) < 2:
        return [("", files)], (unknown if groups else [])
    names = varying([fp for fp, _ in groups])
    if not split:
        raise UsageError(mixed_refusal(bench, groups))
    parts = [(f" [{label(fp, names)}]", members) for fp, members in groups]
    if unknown:
        parts.append((" [settings not recorded]", unknown))
    return parts, []


def summarize_results(
    results_dir: str,
    benchmarks: Optional[str] = None,
    save_metrics_path: Optional[str] = None,
    max_samples: int = -1,
    max_seq_len: Optional[int] = None,
    metric_type: Optional[str] = None,
    show_ci: bool = False,
    extra_datasets: Optional[str] = None,
    data_dir: Optional[str] = None,
    fail_on_incomplete: bool = False,
    metrics_kwargs: Optional[Dict[str, Any]] = None,
    wandb: Optional[Dict[str, Optional[str]]] = None,
    split_by_settings: bool = False,
) -> Tuple[str, Path]:
    """Compute everything, write metrics.json; returns (table text, metrics.json path)."""
    wanted = [b.strip() for b in benchmarks.split(",")] if benchmarks else None
    if wanted is not None and not all(wanted):
        raise UsageError(f"--benchmarks has an empty item: '{benchmarks}'")
    if max_seq_len is not None and max_seq_len <= 0:
        raise UsageError(f"--max_seq_len must be > 0, got {max_seq_len}")
    metrics_kwargs = dict(metrics_kwargs or {})
    if wandb and wandb.get("name"):
        from skills.metrics.wandb_log import check_names

        check_names(wandb["name"], wandb.get("group"), wandb.get("project"))
    if metric_type:
        make_scorer(metric_type, **metrics_kwargs)  # an unknown or unsupported --metric_type fails before any scan
    root, dirs, groups = find_benchmarks(Path(results_dir), wanted, extra_datasets)
    if not dirs:
        return f"No benchmarks found in {results_dir}\n", Path()
    results: Dict[str, Metrics] = {}
    scorers: Dict[str, Tuple[Scorer, int]] = {}
    skipped: List[UsageError] = []
    sources: Dict[str, Dict[str, object]] = {}
    warnings: List[str] = []
    unrecorded: List[str] = []  # benchmarks mixing files with and without recorded settings
    printed: List[str] = []  # what metric types print besides their tables (before them, as the reference)
    for d in dirs:
        try:
            scorer = make_scorer(metric_type_for(d.name, metric_type, extra_datasets, data_dir), d.name, **metrics_kwargs)
        except UsageError as exc:
            if wanted or len(dirs) == 1:  # asked for by name, or nothing else to show: an error
                raise
            print(f"Warning: skipping {d.name}: {exc.message}", file=sys.stderr)  # found while scanning
            skipped.append(exc)
            continue
        files = result_files(d, fail_on_incomplete)
        parts, unknown = settings_parts(d.name, files, split_by_settings)
        if unknown:
            unrecorded.append(d.name)
        from skills.data.manifest import mixed_settings, record_rows

        for problem in ([] if len(parts) > 1 else mixed_settings(d.name, d, files)):
            print(f"Warning: {d.name}: its files come from different runs: {problem}", file=sys.stderr)
        try:
            record_rows(d, files)
        except OSError:
            pass  # a read-only results folder can still be summarized
        sources[d.name] = bench_sources(d.name, files, warnings)
        bench_marks = marks(sources[d.name], files, scorer.recorded_fields)
        if WORDING_KEY in bench_marks:
            warnings.append(f"{d.name} was made with skills' own prompt wording ({bench_marks[WORDING_KEY]}), not the "
                            "reference's: its numbers are not comparable with published NeMo-Skills results")
        for suffix, part in parts:
            for name, metrics in compute_metrics(d.name, part, scorer, max_samples, max_seq_len, show_ci).items():
                for mode in metrics.values():
                    mode.update(bench_marks)
                results[name + suffix] = metrics
                scorers[name + suffix] = (scorer, len(part))
            printed.extend(scorer.take_printed())
        for file_name, text in scorer.review_files().items():
            try:
                with atomic_open(d / file_name, "w") as f:
                    f.write(text)
            except OSError:
                pass  # a read-only results folder can still be summarized
    if skipped and not results:
        raise skipped[0]
    group_tables, group_entries = _group_scores(groups, results, extra_datasets, data_dir)
    results = add_benchmark_groups(results, scorers, skip=set(groups), benchmarks={d.name for d in dirs})
    results = {**group_entries, **results}
    blocks: List[List[str]] = [lines for lines in group_tables if lines]
    for name, metrics in results.items():
        if name in group_entries:
            continue
        scorer, n = scorers[name]
        lines = render_table(name, metrics, scorer.evaluations_to_print(n), scorer.metrics_to_print(), show_ci,
                             hidden=scorer.recorded_fields)
        if lines:
            blocks.append(lines)
    out: List[str] = list(printed)
    if max_seq_len is not None and blocks:
        out.append(f" Metrics for Max Sequence Length {max_seq_len} ".center(len(blocks[0][0]), "-"))
    for lines in blocks:
        out.extend(lines)
        out.extend(["", ""])
    out.extend(legend(blocks, show_ci))
    path = Path(save_metrics_path) if save_metrics_path else root / metrics_name(max_seq_len, max_samples)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as f:  # a killed job never leaves half a metrics.json behind
        json.dump(results, f, indent=2)
    sources = {k: v for k, v in sources.items() if v}
    if sources:
        with atomic_open(sidecar_path(path)) as f:
            json.dump(sources, f, indent=2)
    if unrecorded:  # said once
        warnings.append(f"some result files of {', '.join(unrecorded)} record no settings (made by an earlier version, "
                        "no .settings.json): they are not checked against the other seeds' settings")
    for line in warnings + table_warning(sources):
        print(f"Warning: {line}", file=sys.stderr)
    if wandb and wandb.get("name"):
        from skills.metrics.wandb_log import log_metrics

        log_metrics(results, wandb["name"], wandb.get("group"), wandb.get("project"))
    return "\n".join(out) + "\n" if out else "", path


def _group_scores(groups: Dict[str, List[str]], results: Dict[str, Metrics], extra_datasets: Optional[str],
                  data_dir: Optional[str]) -> Tuple[List[List[str]], Dict[str, Dict]]:
    """Tables and entries of the declared groups whose members were all summarized."""
    from skills.registry.benchmarks import get_benchmark
    from skills.metrics.groups import get_group_score

    tables: List[List[str]] = []
    entries: Dict[str, Dict] = {}
    for group, members in groups.items():
        try:
            spec = get_benchmark(group, extra_datasets, data_dir)
        except UsageError:
            continue  # an unknown group: the dot-name fallback averages it
        if not spec.score_module or not all(m in results for m in members):
            continue
        score = get_group_score(spec.score_module)
        member_metrics = {k: v for k, v in results.items()
                          if any(k == m or k.startswith(m + "-") for m in members)}
        entries[group] = score.compute(group, member_metrics)
        tables.append(score.render(group, member_metrics, entries[group]))
    return tables, entries


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m skills.metrics.summarize", description=__doc__.splitlines()[0])
    p.add_argument("results_dir", help="<out>, <out>/eval-results, or one benchmark folder")
    p.add_argument("--benchmarks", "--benchmark", default=None, help="comma-separated benchmark folder names")
    p.add_argument("--save_metrics_path", "--save-metrics-path", default=None)
    p.add_argument("--max_samples", "--max-samples", type=int, default=-1, help="use only the first M rows")
    p.add_argument("--max_seq_len", "--max-seq-len", type=int, default=None,
                   help="generations with more tokens count as wrong with no answer")
    p.add_argument("--metric_type", "--metric-type", default=None, help="override the benchmarks' metric type")
    p.add_argument("--extra_datasets", "--extra-datasets", default=None,
                   help="folder of user-defined benchmarks (their metric types)")
    p.add_argument("--data_dir", "--data-dir", default=None,
                   help="prepared data folder (definitions of generated benchmarks, e.g. RULER setups)")
    p.add_argument("--fail_on_incomplete", "--fail-on-incomplete", action="store_true",
                   help="an incomplete seed (still running, not graded) is an error instead of a warning")
    p.add_argument("--show_ci", "--show-ci", "--with_ci", action="store_true",
                   help="add 95%% confidence intervals of pass@1[avg-of-k] to the table and metrics.json")
    p.add_argument("--split_by_settings", "--split-by-settings", action="store_true",
                   help="a benchmark whose seeds were made with different settings gets one table per setting "
                        "(default: it is refused)")
    p.add_argument("--metrics_kwargs", "--metrics-kwargs", default="",
                   help="JSON object of keyword arguments for the metric classes (e.g. compute_no_answer)")
    p.add_argument("--wandb_name", "--wandb-name", default=None, help="log the metrics to this W&B run")
    p.add_argument("--wandb_group", "--wandb-group", default=None)
    p.add_argument("--wandb_project", "--wandb-project", default="nemo-skills")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from skills.config.values import parse_json_kwargs

        text, path = summarize_results(
            args.results_dir, args.benchmarks, args.save_metrics_path, args.max_samples,
            args.max_seq_len, args.metric_type, args.show_ci, args.extra_datasets, args.data_dir,
            args.fail_on_incomplete,
            parse_json_kwargs(args.metrics_kwargs, "--metrics_kwargs"),
            {"name": args.wandb_name, "group": args.wandb_group, "project": args.wandb_project},
            args.split_by_settings,
        )
    except UsageError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    sys.stdout.write(text)
    if path != Path():
        sys.stdout.write(f"Metrics are saved to {path}\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
