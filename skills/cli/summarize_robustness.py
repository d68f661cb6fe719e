"""``ns summarize_robustness``: accuracy spread, consistency rate and prompt sensitivity of a
``ns robust_eval`` output folder (``python -m skills.metrics.robustness``)."""

from __future__ import annotations

from typing import Optional

import typer

from skills.cli.options import CLUSTER, F, O, with_groups
from skills.config.errors import UsageError


@with_groups(cluster=CLUSTER)
def summarize_robustness(
    results_dir: str = typer.Argument(..., help="ns robust_eval's output folder (<benchmark>/<prompt>/ inside)."),
    save_metrics_path: Optional[str] = O("save_metrics_path", "Where metrics.json goes (default "
                                         "RESULTS_DIR/metrics.json)."),
    data_dir: Optional[str] = O("data_dir", "Reference: not needed here."),
    remote_tar_dir: Optional[str] = O("remote_tar_dir", "Reference: where results are packed on a cluster."),
    debug: bool = F("debug", "Reference: more logging.", default=False),
    verbose: Optional[bool] = F("verbose", "Reference: transfer progress.", default=None),
    cluster=None,
) -> int:
    """Summarize robustness: min/max/avg/std, consistency rate and prompt sensitivity per benchmark and prompt."""
    from skills.cli.common import not_applicable

    if cluster.is_slurm:
        raise UsageError("summarize_robustness reads local folders; copy the results or run it on the cluster")
    if cluster.mounts:
        from skills.config.mounts import host_path

        results_dir = host_path(cluster, results_dir, "results_dir")
        save_metrics_path = host_path(cluster, save_metrics_path, "--save_metrics_path") if save_metrics_path \
            else None
    for flag, value in (("--remote_tar_dir", remote_tar_dir), ("--verbose/--no-verbose", verbose),
                        ("--data_dir", data_dir)):
        if value is not None:
            not_applicable(flag, "results are read from this machine's file system; nothing else is needed")
    from skills.metrics.robustness import summarize_robustness as run

    return run(results_dir, save_metrics_path)
