"""``ns status``: the state of each job of a run."""

from __future__ import annotations
from typing import Optional

import typer

from skills.cli.options import CLUSTER_NO_MOUNTS, F, O, with_groups


def _optional_cluster(values):
    return CLUSTER_NO_MOUNTS.build(values) if values.get("cluster") else None


@with_groups(cluster=type(CLUSTER_NO_MOUNTS)(CLUSTER_NO_MOUNTS.options, _optional_cluster))
def status(
    target: str = typer.Argument(..., help="Output dir, log dir or experiment name of a run."),
    json_out: bool = F("json", "Print JSON.", default=False),
    progress: bool = F("progress", "Each generation run's progress (benchmark and seed), seeds in order.",
                       default=False),
    benchmark: Optional[str] = O("benchmark", "With --progress: only this benchmark's runs."),
    cluster=None,
) -> int:
    """Show the state of each job of a run (pending/running/done/failed/skipped/cancelled)."""
    from skills.pipeline.status import show_status

    return show_status(target, json_out, cluster, progress, benchmark)
