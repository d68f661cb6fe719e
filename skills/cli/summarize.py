"""``ns summarize_results``: metrics tables and metrics.json for result folders (ours or the reference's)."""

from __future__ import annotations

from typing import Optional

import typer

from skills.cli.options import CLUSTER, F, O, with_groups
from skills.config.errors import UsageError


@with_groups(cluster=CLUSTER)
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
    split_by_settings: bool = F("split_by_settings", "Seeds made with different settings: one table per setting "
                                "(default: refused).", default=False),
    data_dir: Optional[str] = O("data_dir"),
    extra_datasets: Optional[str] = O("extra_datasets"),
    extra_datasets_type: Optional[str] = O("extra_datasets_type", "local (default) or cluster."),
    debug: bool = F("debug", default=False),
    metrics_kwargs: Optional[str] = O("metrics_kwargs", "JSON keyword arguments for the metric classes."),
    wandb_name: Optional[str] = O("wandb_name", "Log the metrics to this Weights & Biases run."),
    wandb_group: Optional[str] = O("wandb_group"),
    wandb_project: str = O("wandb_project", default="nemo-skills"),
    remote_tar_dir: Optional[str] = O("remote_tar_dir", "Reference: where results are packed on a cluster."),
    verbose: Optional[bool] = F("verbose", "Reference: transfer progress.", default=None),
    cluster=None,
) -> int:
    """Compute metrics, print the tables and write metrics.json."""
    from skills.cli.common import not_applicable

    if benchmarks and any(c.isspace() for c in benchmarks):
        raise UsageError(f"--benchmarks must not contain spaces: '{benchmarks}'")
    if cluster.is_slurm:
        raise UsageError("summarize_results reads local folders; copy the results or run it on the cluster")
    if extra_datasets_type not in (None, "local", "cluster"):
        raise UsageError(f"--extra_datasets_type must be local or cluster, not '{extra_datasets_type}'")
    if extra_datasets_type == "cluster":
        raise UsageError("--extra_datasets_type=cluster needs a Slurm cluster; summarize_results reads local folders")
    if cluster.mounts:
        from skills.config.mounts import host_path

        results_dir = host_path(cluster, results_dir, "results_dir")
    for flag, value in (("--remote_tar_dir", remote_tar_dir), ("--verbose/--no-verbose", verbose)):
        if value is not None:
            not_applicable(flag, "results are read from this machine's file system, nothing is transferred")
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
    if split_by_settings:
        argv.append("--split_by_settings")
    if metrics_kwargs:
        argv += ["--metrics_kwargs", metrics_kwargs]
    if wandb_name:
        argv += ["--wandb_name", wandb_name, "--wandb_project", wandb_project]
        argv += ["--wandb_group", wandb_group] if wandb_group else []
    from skills.metrics.summarize import main as summarize_main

    return summarize_main(argv)
