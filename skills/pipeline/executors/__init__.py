"""Executors run a Plan: ``local`` (processes on this machine, also for ``none``) or ``slurm``."""

from __future__ import annotations

from typing import Any

from skills.pipeline.plan import Plan


def run_plan(plan: Plan, cluster: Any = None) -> int:
    """Dispatch on the cluster's executor; the Slurm one is imported only when needed."""
    if cluster is not None and getattr(cluster, "executor", None) == "slurm":
        from skills.pipeline.executors.slurm import run_plan as slurm_run

        return slurm_run(plan, cluster)
    from skills.pipeline.executors.local import run_plan as local_run

    return local_run(plan, cluster)
