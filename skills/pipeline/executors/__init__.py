"""Executors run a Plan: ``local`` (processes on this machine, also for ``none``) or ``slurm``."""

from __future__ import annotations

from typing import Any, Callable, Optional

from skills.pipeline.plan import Plan


def run_plan(plan: Plan, cluster: Any = None, on_start: Optional[Callable[[], None]] = None) -> int:
    """Dispatch on the cluster's executor; the Slurm one is imported only when needed. ``on_start``
    runs once the run has really started (local: its folder lock is held; Slurm: the jobs are
    submitted), so a run refused before that leaves no record (e.g. no manifest)."""
    if cluster is not None and getattr(cluster, "executor", None) == "slurm":
        from skills.pipeline.executors.slurm import run_plan as slurm_run

        return slurm_run(plan, cluster, on_start=on_start)
    from skills.pipeline.executors.local import run_plan as local_run

    return local_run(plan, cluster, on_start=on_start)
