"""Where the jobs of a plan find the reference prompt set, and where plan-time checks look for it."""

from __future__ import annotations

import os
from typing import Iterable, Optional, Tuple

from skills.config.cluster import ClusterConfig
from skills.data import resolve_data_dir
from skills.prompt_sets import DIR_ENV, SOURCE_ENV, planned_dir

REMOTE_PROMPTS = "<remote>"  # prompt_set_for_plan: the jobs' set cannot be seen from here


def prompt_set_for_plan(data_dir: str, cluster: ClusterConfig) -> Tuple[str, Optional[str]]:
    """(``$SKILLS_PROMPT_SET_DIR`` for the jobs, folder to check prompts against here or None).

    On a cluster reached over ssh the jobs' folder is remote: plan-time checks then use a set
    fetched on this machine if there is one (``<default data dir>/.prompt-sets``)."""
    jobs = planned_dir(data_dir)
    if cluster.is_slurm and cluster.ssh_tunnel is not None:
        local = planned_dir(resolve_data_dir(None))
        return jobs, local if local == "none" or os.path.isdir(local) else REMOTE_PROMPTS
    return jobs, jobs


def set_prompt_env(jobs: Iterable, value: str) -> None:
    """Every generation and judge job learns where the reference prompt set is (and whether our own
    wording may stand in, when this process was told so by ``$SKILLS_PROMPT_SOURCE``)."""
    source = os.environ.get(SOURCE_ENV)
    for job in jobs:
        if job.kind in ("generation", "judge"):
            job.env.setdefault(DIR_ENV, value)
            if source:
                job.env.setdefault(SOURCE_ENV, source)
