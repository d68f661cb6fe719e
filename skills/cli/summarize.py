"""``ns summarize_results``: metrics tables and metrics.json for result folders (ours or the reference's)."""

from __future__ import annotations

from typing import Optional

import typer

from skills.cli.options import CLUSTER_NO_MOUNTS, F, O, with_groups
from skills.config.errors import UsageError


@with_groups(cluster=CLUSTER_NO_MOUNTS)
def summarize_results(
    results_dir: str = typer.Argument(..., help="<out>, <out>/eval-results or one benchmark folder."),
    benchmarks: Optional[str] = O("benchmarks", "Comma list (default: all found)."),
    save_metrics_path: Optional[str] = O("save_metrics_path"),
    max_samples: int = O("max_samples", default=-1),
    max_seq_len: Optional[int] = O("max_seq_len"),
    metric_type: Optional[str] = O("metric_type"),
    show_ci: bool = F("show_ci", "Add 95% confidence intervals.", default=False),
    fail_on_incomplete: bool = F("fail_on_incomplete", "An incomplete seed is an error, not a warning.",
                                 default=False),
    data_dir: Optional[str] = O("data_dir"),
    extra_datasets: Optional[str] = O("extra_datasets"),
    debug: bool = F("debug", default=False),
    cluster=None,
) -> int:
    """Compute metrics, print the tables and write metrics.json."""
    if benchmarks and any(c.isspace() for c in benchmarks):
        raise UsageError(f"--benchmarks must not contain spaces: '{benchmarks}'")
    if cluster.is_slurm:
        raise UsageError("summarize_results reads local folders; copy the results or run it on the cluster")
    argv = [results_dir]
    for flag, value in (("--benchmarks", benchmarks), ("--save_metrics_path", save_metrics_path),
                        ("--max_seq_len", max_seq_len), ("--metric_type", metric_type),
                        ("--extra_datasets", extra_datasets), ("--data_dir", data_dir)):
        if value is not None:
            argv += [flag, str(value)]
    if max_samples != -1:
        argv += ["--max_samples", str(max_samples)]
    if show_ci:
        argv.append("--show_ci")
    if fail_on_incomplete:
        argv.append("--fail_on_incomplete")
    from skills.metrics.summarize import main as summarize_main

    return summarize_main(argv)
