"""Reference options checked before a plan exists (``ns eval / generate / prepare_data``); those
that act on the plan are in ``skills.pipeline.reference_options``."""

from __future__ import annotations

from typing import Any

from skills.cli.common import not_applicable
from skills.pipeline.reference_options import ReferenceOptions


def before_plan(ref: ReferenceOptions, cluster: Any) -> None:
    """Checks and notes that do not depend on the plan."""
    if ref.check_mounted_paths:
        from skills.config.mounts import check_mounted_paths

        if cluster.mounts and not cluster.is_slurm:
            check_mounted_paths(cluster)
        elif cluster.is_slurm:
            not_applicable("--check_mounted_paths", "on Slurm the mount folders are checked on the cluster when the "
                                                    "jobs start")
    if ref.reuse_code is not None or ref.reuse_code_exp:
        not_applicable("--reuse_code/--reuse_code_exp", "no code is packaged or uploaded: jobs run the skills "
                                                        "installed where they run")
    if ref.keep_mounts_for_sandbox is not None:
        not_applicable("--keep_mounts_for_sandbox", "the sandbox runs next to the job's commands and sees the same "
                                                    "file system")
