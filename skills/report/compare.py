"""``python -m skills.report.compare DIR_A DIR_B [DIR_C ...]``: the program behind ``ns compare``.

Per benchmark and subset: B - A of the main score (pass@1, seeds averaged per problem) with a
paired test on the same problems and its 95% interval; which problems flipped. Both runs
single-seed with 0/1 scores -> exact McNemar; otherwise a hierarchical bootstrap over problems and
seeds (``skills.report.stats``). Verdicts: never below ``MIN_PROBLEMS`` problems; Holm-adjusted p
< ``ALPHA`` over the rows of one comparison, the benchmark rows (primary) and the subset rows
(exploratory) each a family of their own, so subsets never dilute nor inflate the headline
verdict. Runs on different data or prompt sets
are refused unless ``--force``, naming what differs: the manifests when both runs have one
(``manifest_differences``), else what the rows show (problem count, digests of the identity and
prompt-set fields of ``skills.report.runs``). Later folders are each compared with the first.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.report.run import find_manifest, read_json
from skills.report.runs import PROMPT_FIELDS, BenchmarkRun, find_runs, load_benchmark
from skills.report.scores import extractor_for
from skills.report.stats import PairedResult, hierarchical_bootstrap, holm, mcnemar

# Fewer problems than this get no verdict: with a handful of problems a resampled interval is too
# narrow (every resample repeats the same few differences) and no test can tell a model from noise.
MIN_PROBLEMS = 20
ALPHA = 0.05  # family-wise error rate of the verdicts of one comparison (per family)
PRIMARY, EXPLORATORY = "primary", "exploratory"


@dataclass(frozen=True)
class Flips:
    """Problem indices (0-based line numbers) whose verdict changed; "right" = at least half the seeds."""

    a_only: List[int]  # right in A, wrong in B
    b_only: List[int]  # wrong in A, right in B
    means: Dict[int, Tuple[float, float]] = field(default_factory=dict)  # flipped problem -> (A, B) seed-mean score


@dataclass
class Comparison:
    name: str  # <bench> or <bench>-<subset>
    benchmark: str
    subset: Optional[str]
    metric: str
    problems: int
    seeds: Tuple[int, int]
    a: float  # mean score, fraction
    b: float
    result: Optional[PairedResult]  # None: fewer than MIN_PROBLEMS problems, no test
    flips: Flips
    p_holm: Optional[float] = None  # Holm-adjusted within the row's family (set by ``adjust``)

    @property
    def family(self) -> str:
        return PRIMARY if self.subset is None else EXPLORATORY

    @property
    def diff(self) -> float:
        return self.b - self.a

    @property
    def significant(self) -> bool:
        """The verdict's test: Holm-adjusted p below ALPHA (never without a test)."""
        return self.p_holm is not None and self.p_holm < ALPHA

    @property
    def verdict(self) -> str:
        if self.result is None:
            return f"no verdict (< {MIN_PROBLEMS} problems)"
        if not self.significant:
            return "not significant"
        return "B better" if self.result.diff > 0 else "B worse"


def adjust(comparisons: Sequence[Comparison]) -> None:
    """Holm within each family (benchmark rows; subset rows) of the rows that have a test."""
    for family in (PRIMARY, EXPLORATORY):
        rows = [c for c in comparisons if c.family == family and c.result is not None]
        for c, p in zip(rows, holm([c.result.p_value for c in rows])):
            c.p_holm = p


@dataclass
class CompareResult:
    dir_a: str
    dir_b: str
    comparisons: List[Comparison] = field(default_factory=list)
    only_a: List[str] = field(default_factory=list)
    only_b: List[str] = field(default_factory=list)
    forced: List[str] = field(default_factory=list)  # differences accepted with --force
    skipped: List[str] = field(default_factory=list)
    resamples: int = 10_000
    seed: int = 0
    runs_b: Dict[str, BenchmarkRun] = field(default_factory=dict)  # B's benchmarks as loaded (for the report)


# --------------------------------------------------------------------------- same data?

def read_manifest(results_dir: Path) -> Optional[Dict[str, Any]]:
    """The merged run manifest of a results folder (``<out>/manifest.json``; ``skills.report.run``)."""
    path = find_manifest(results_dir)
    return read_json(path) if path is not None else None


def manifest_differences(bench: str, dir_a: Path, dir_b: Path) -> List[str]:
    """Hook for run manifests: differing data / prompt entries of one benchmark, [] without them.

    Compares ``manifest["benchmarks"][bench][key]`` for the keys both manifests record among
    ``data`` and ``prompt`` (whatever values the manifest writer puts there: hashes, paths, names).
    """
    ma, mb = read_manifest(dir_a), read_manifest(dir_b)
    if ma is None or mb is None:
        return []
    ea = (ma.get("benchmarks") or {}).get(bench) or {}
    eb = (mb.get("benchmarks") or {}).get(bench) or {}
    out = []
    for key in ("data", "prompt"):
        if key in ea and key in eb:
            what = entry_differences(ea[key], eb[key])
            if what:
                out.append(f"{bench}: the runs' {key} differ: {what}")
    return out


def entry_differences(va: Any, vb: Any) -> Optional[str]:
    """How two manifest entries (``{"file", "sha256", "rows", "source", "config"}``) differ, in words
    (None: the same). Files with the same checksum are the same, wherever they live; a checksum is
    never shown, only whether the content differs."""
    if not (isinstance(va, dict) and isinstance(vb, dict)):
        return None if va == vb else f"A {va!r}, B {vb!r}"
    if va.get("sha256") and va.get("sha256") == vb.get("sha256"):
        return None
    words = [f"{k} A {va[k]!r}, B {vb[k]!r}" for k in dict.fromkeys([*va, *vb])
             if k not in ("sha256", "file") and k in va and k in vb and va[k] != vb[k]]
    if va.get("sha256") and vb.get("sha256"):
        where = (f" (A {va.get('file')}, B {vb.get('file')})" if va.get("file") != vb.get("file")
                 else f" ({va.get('file')} changed between the runs)" if va.get("file") else "")
        words.append("file content differs" + where)
    elif va.get("file") != vb.get("file") and not words:
        words.append(f"file A {va.get('file')}, B {vb.get('file')}")
    return "; ".join(words) or None


def data_differences(a: BenchmarkRun, b: BenchmarkRun) -> List[str]:
    """What the rows themselves show: problem count, identity fields, prompt-set fields."""
    if a.num_problems != b.num_problems:
        return [f"{a.name}: A has {a.num_problems} problems, B has {b.num_problems}"]
    out = []
    fields = list(dict.fromkeys(k for ids in a.identity[:1] + b.identity[:1] for k in ids))
    fields += list(dict.fromkeys(k for ids in a.prompt_ids[:1] + b.prompt_ids[:1] for k in ids))
    for key in fields:
        table_a = a.prompt_ids if key in PROMPT_FIELDS else a.identity
        table_b = b.prompt_ids if key in PROMPT_FIELDS else b.identity
        bad = [i for i, (x, y) in enumerate(zip(table_a, table_b)) if x.get(key) != y.get(key)]
        if bad:
            what = "prompt set" if key in PROMPT_FIELDS else "data"
            out.append(f"{a.name}: different {what}: '{key}' differs in {len(bad)} of {a.num_problems} problems "
                       f"(first: #{bad[0]})")
    return out


# --------------------------------------------------------------------------- statistics

def _is_binary(rows: Sequence[Sequence[float]]) -> bool:
    return all(v in (0.0, 1.0) for seeds in rows for v in seeds)


def paired_test(a_rows: Sequence[Sequence[float]], b_rows: Sequence[Sequence[float]],
                resamples: int = 10_000, seed: int = 0) -> PairedResult:
    """McNemar for two single-seed 0/1 runs, else the hierarchical bootstrap over problems and seeds."""
    if all(len(r) == 1 for r in a_rows) and all(len(r) == 1 for r in b_rows) and _is_binary(a_rows) \
            and _is_binary(b_rows):
        return mcnemar([r[0] for r in a_rows], [r[0] for r in b_rows])
    return hierarchical_bootstrap(a_rows, b_rows, resamples, seed)


def flips(a_mean: Sequence[float], b_mean: Sequence[float], index: Sequence[int]) -> Flips:
    """Problems right (>= half the seeds) in one run and wrong in the other, biggest change first."""
    order = sorted(range(len(index)), key=lambda j: (-abs(b_mean[j] - a_mean[j]), index[j]))
    a_only = [index[j] for j in order if a_mean[j] >= 0.5 > b_mean[j]]
    b_only = [index[j] for j in order if b_mean[j] >= 0.5 > a_mean[j]]
    means = {index[j]: (a_mean[j], b_mean[j]) for j in order if (a_mean[j] >= 0.5) != (b_mean[j] >= 0.5)}
    return Flips(a_only, b_only, means)


def compare_benchmark(a: BenchmarkRun, b: BenchmarkRun, metric: Optional[str] = None,
                      resamples: int = 10_000, seed: int = 0) -> List[Comparison]:
    """The benchmark as a whole, then each subset (A's ``subset_for_metrics``)."""
    metric = metric or a.main
    if metric not in a.scores or metric not in b.scores:
        raise UsageError(f"{a.name}: no '{metric}' scores in both runs (A has {', '.join(a.methods)}; "
                         f"B has {', '.join(b.methods)})")
    n = min(a.num_problems, b.num_problems)
    groups: Dict[Optional[str], List[int]] = {None: list(range(n))}
    for i in range(n):
        if a.subsets[i] is not None:
            groups.setdefault(a.subsets[i], []).append(i)
    out = []
    for subset, idx in groups.items():
        a_rows = [a.scores[metric][i] for i in idx]
        b_rows = [b.scores[metric][i] for i in idx]
        a_mean = [sum(r) / len(r) for r in a_rows]
        b_mean = [sum(r) / len(r) for r in b_rows]
        out.append(Comparison(
            name=a.name if subset is None else f"{a.name}-{subset}", benchmark=a.name, subset=subset,
            metric=metric, problems=len(idx), seeds=(a.num_seeds, b.num_seeds),
            a=sum(a_mean) / len(idx), b=sum(b_mean) / len(idx),
            result=paired_test(a_rows, b_rows, resamples, seed) if len(idx) >= MIN_PROBLEMS else None,
            flips=flips(a_mean, b_mean, idx),
        ))
    return out


def compare_dirs(dir_a: str, dir_b: str, benchmarks: Optional[str] = None, metric: Optional[str] = None,
                 force: bool = False, resamples: int = 10_000, seed: int = 0, metric_type: Optional[str] = None,
                 extra_datasets: Optional[str] = None,
                 runs_a: Optional[Dict[str, BenchmarkRun]] = None) -> CompareResult:
    """Compare every benchmark the two folders share (``runs_a``: A already loaded, by the report)."""
    _, found_a = find_runs(dir_a, benchmarks, metric_type, extra_datasets, warn=runs_a is None)
    _, found_b = find_runs(dir_b, benchmarks, metric_type, extra_datasets)
    names_b = {f.name: f for f in found_b}
    res = CompareResult(dir_a, dir_b, resamples=resamples, seed=seed)
    res.only_a = [f.name for f in found_a if f.name not in names_b]
    res.only_b = [f.name for f in found_b if f.name not in {x.name for x in found_a}]
    pairs = []
    problems: List[str] = []
    for fa in found_a:
        fb = names_b.get(fa.name)
        if fb is None:
            continue
        try:
            ex = extractor_for(fa.metric_type)
        except UsageError as exc:
            res.skipped.append(f"{fa.name}: {exc.message}")
            continue
        a = runs_a[fa.name] if runs_a and fa.name in runs_a else load_benchmark(fa.folder, ex)
        b = load_benchmark(fb.folder, extractor_for(fb.metric_type))
        problems += manifest_differences(fa.name, Path(dir_a), Path(dir_b)) + data_differences(a, b)
        pairs.append((a, b))
    if not pairs:
        raise UsageError(f"No benchmark to compare: {dir_a} has {', '.join(f.name for f in found_a) or 'none'}, "
                         f"{dir_b} has {', '.join(f.name for f in found_b) or 'none'}")
    if problems and not force:
        raise UsageError("Refusing to compare runs on different data or prompts: " + "; ".join(problems)
                         + ". Pass --force to compare anyway (problems are paired by line number).")
    res.forced = problems
    for a, b in pairs:
        res.comparisons.extend(compare_benchmark(a, b, metric, resamples, seed))
        res.runs_b[b.name] = b
    adjust(res.comparisons)
    return res


# --------------------------------------------------------------------------- text output

HEADER = ("benchmark", "rows", "metric", "problems", "seeds", "A", "B", "B - A", "95% CI", "p", "p (Holm)", "test",
          "result")


def _p(p: Optional[float]) -> str:
    return "-" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def table_rows(res: CompareResult) -> List[Tuple[str, ...]]:
    rows = []
    for c in res.comparisons:
        r = c.result
        ci = "-" if r is None else f"[{100 * r.low:+.2f}, {100 * r.high:+.2f}]"
        rows.append((c.name, c.family, c.metric, str(c.problems), f"{c.seeds[0]} / {c.seeds[1]}", f"{100 * c.a:.2f}%",
                     f"{100 * c.b:.2f}%", f"{100 * c.diff:+.2f}", ci, _p(r.p_value if r else None), _p(c.p_holm),
                     r.test if r else "-", c.verdict))
    return rows


def legend(res: CompareResult) -> List[str]:
    """What the table's numbers are, in words (printed above it)."""
    counts = {f: sum(1 for c in res.comparisons if c.family == f and c.result is not None) for f in (PRIMARY, EXPLORATORY)}
    return [
        "B - A: percentage points of the mean score over problems (seeds averaged per problem), paired on the "
        "same problems.",
        f"95% CI and p: hierarchical bootstrap over problems and seeds ({res.resamples} resamples, seed {res.seed}); "
        "exact McNemar when both runs have one seed of 0/1 scores.",
        f"p (Holm): adjusted over the {counts[PRIMARY]} benchmark row(s) (primary) and, separately, over the "
        f"{counts[EXPLORATORY]} subset row(s) (exploratory: a hint for follow-up, not a finding). A verdict needs "
        f"p (Holm) < {ALPHA:g} and at least {MIN_PROBLEMS} problems.",
    ]


def too_few(res: CompareResult) -> List[str]:
    """One line naming the rows without a verdict, and why."""
    small = [c for c in res.comparisons if c.result is None]
    if not small:
        return []
    names = ", ".join(f"{c.name} ({c.problems})" for c in small)
    return [f"no verdict for {len(small)} row(s) with fewer than {MIN_PROBLEMS} problems: {names}; with so few "
            "problems a difference cannot be told from seed noise"]


def _ids(items: List[int], limit: int) -> str:
    text = ", ".join(f"#{i}" for i in items[:limit])
    return text + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")


def render_text(res: CompareResult, max_flips: int = 20) -> str:
    rows = table_rows(res)
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(HEADER)]
    lines = [f"A = {res.dir_a}", f"B = {res.dir_b}", *legend(res), ""]
    lines.append(" | ".join(h.ljust(w) for h, w in zip(HEADER, widths)).rstrip())
    for r in rows:
        lines.append(" | ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    lines.append("")
    for c in res.comparisons:
        if c.subset is not None:
            continue
        f = c.flips
        if not f.a_only and not f.b_only:
            lines.append(f"{c.name}: no problem flipped")
            continue
        lines.append(f"{c.name}: {len(f.a_only) + len(f.b_only)} problems flipped "
                     "(right = correct in at least half the seeds; #i = 0-based line)")
        lines.append(f"  right in A, wrong in B ({len(f.a_only)}): {_ids(f.a_only, max_flips) or '-'}")
        lines.append(f"  wrong in A, right in B ({len(f.b_only)}): {_ids(f.b_only, max_flips) or '-'}")
    if notes(res):
        lines += [""] + notes(res)
    return "\n".join(lines) + "\n"


def notes(res: CompareResult) -> List[str]:
    """Rows without a verdict, benchmarks in one folder only, differences accepted with --force, skipped ones."""
    out = too_few(res)
    out += [f"only in A: {', '.join(res.only_a)}"] if res.only_a else []
    out += [f"only in B: {', '.join(res.only_b)}"] if res.only_b else []
    return out + [f"compared despite: {d}" for d in res.forced] + [f"skipped {s}" for s in res.skipped]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m skills.report.compare", description=__doc__.splitlines()[0])
    p.add_argument("dirs", nargs="+", metavar="DIR", help="results folders (<out> or <out>/eval-results); "
                   "each later one is compared with the first")
    p.add_argument("--benchmarks", "--benchmark", default=None, help="comma-separated benchmark folder names")
    p.add_argument("--metric", default=None, help="score method to compare (default: the main one, e.g. "
                   "judge_correct when judged, else symbolic_correct)")
    p.add_argument("--force", action="store_true", help="compare even if the data or prompts differ")
    p.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap random seed")
    p.add_argument("--max_flips", "--max-flips", type=int, default=20, help="flipped problems listed per direction")
    p.add_argument("--metric_type", "--metric-type", default=None, help="override the benchmarks' metric type")
    p.add_argument("--extra_datasets", "--extra-datasets", default=None,
                   help="folder of user-defined benchmarks (their metric types)")
    return p


def compare_all(dirs: Sequence[str], **kwargs: Any) -> List[CompareResult]:
    if len(dirs) < 2:
        raise UsageError("ns compare needs at least two results folders")
    if kwargs.get("resamples", 1) < 100:
        raise UsageError(f"--resamples must be >= 100, got {kwargs['resamples']}")
    return [compare_dirs(dirs[0], d, **kwargs) for d in dirs[1:]]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        results = compare_all(args.dirs, benchmarks=args.benchmarks, metric=args.metric, force=args.force,
                              resamples=args.resamples, seed=args.seed, metric_type=args.metric_type,
                              extra_datasets=args.extra_datasets)
    except UsageError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    sys.stdout.write("\n".join(render_text(r, args.max_flips) for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
