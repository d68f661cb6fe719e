"""``ns report`` (one self-contained HTML file of a run) and ``ns compare`` (paired significance)."""

from __future__ import annotations

from typing import List, Optional

import typer

from skills.cli.options import F, O


def _flags(**values) -> List[str]:
    argv: List[str] = []
    for name, value in values.items():
        if value is True:
            argv.append(f"--{name}")
        elif value not in (None, False):
            argv += [f"--{name}", str(value)]
    return argv


def report(
    eval_dir: str = typer.Argument(..., help="<out>, <out>/eval-results or one benchmark folder."),
    out: Optional[str] = O("out", "HTML file to write (default <results root>/report.html)."),
    compare: Optional[List[str]] = O("compare", "Also compare these results folders with EVAL_DIR (repeatable)."),
    force: bool = F("force", "Compare even if the data or prompts differ.", default=False),
    benchmarks: Optional[str] = O("benchmarks", "Comma list (default: all found)."),
    metric_type: Optional[str] = O("metric_type"),
    extra_datasets: Optional[str] = O("extra_datasets"),
    max_text_chars: Optional[int] = O("max_text_chars", "Longer texts keep head and tail; 0 keeps all."),
) -> int:
    """Write one self-contained HTML report: tables, problems with drill-down, pass@k, seeds, tokens."""
    from skills.report.build import main

    argv = [eval_dir, *_flags(out=out, force=force, benchmarks=benchmarks, metric_type=metric_type,
                              extra_datasets=extra_datasets, max_text_chars=max_text_chars)]
    for other in compare or []:
        argv += ["--compare", other]
    return main(argv)


def compare_cmd(
    dirs: List[str] = typer.Argument(..., help="Results folders; each later one is compared with the first."),
    benchmarks: Optional[str] = O("benchmarks", "Comma list (default: all in both)."),
    metric: Optional[str] = O("metric", "Score method to compare (default: the main one)."),
    force: bool = F("force", "Compare even if the data or prompts differ.", default=False),
    resamples: int = O("resamples", "Bootstrap resamples.", default=10_000),
    seed: int = O("seed", "Bootstrap random seed.", default=0),
    max_flips: int = O("max_flips", "Flipped problems listed per direction.", default=20),
    metric_type: Optional[str] = O("metric_type"),
    extra_datasets: Optional[str] = O("extra_datasets"),
) -> int:
    """Paired comparison per benchmark and subset: difference, 95% interval, significance, flips."""
    from skills.report.compare import main

    return main([*dirs, *_flags(benchmarks=benchmarks, metric=metric, force=force, resamples=resamples, seed=seed,
                                max_flips=max_flips, metric_type=metric_type, extra_datasets=extra_datasets)])
