"""Checks of a finished plan, just before it runs (a dry run still prints it): the environment
variables its jobs read secrets from are set, and models to be loaded from a path exist.
"""

from __future__ import annotations

import os
from typing import List, Sequence

from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.pipeline.plan import Job, Plan
from skills.pipeline.servers import PATH_LOADING_TYPES


def missing_env(plan: Plan) -> List[str]:
    return [name for name in plan.required_env if not os.environ.get(name)]


def check_env(plan: Plan) -> None:
    """Keys the plan needs (OPENAI_API_KEY for an OpenAI judge, ...) must be set before anything runs."""
    missing = missing_env(plan)
    if missing:
        raise UsageError(f"environment variable(s) {', '.join(missing)} must be set to run this plan "
                         f"(needed by: {', '.join(_users(plan, missing))})")


def _users(plan: Plan, names: List[str]) -> List[str]:
    users = [j.name for j in plan.jobs if set(j.secret_env) & set(names)]
    return users[:3] + (["..."] if len(users) > 3 else []) or ["the cluster config"]


def check_model_paths(jobs: Sequence[Job], cluster: ClusterConfig) -> None:
    """Before a run on this machine starts: a server that loads its model from a path that does not
    exist would only fail in its job (a dry run still prints the plan)."""
    if cluster.is_slurm:
        return  # the path is on the cluster (or in its container)
    for job in jobs:
        s = job.server
        model = str(s.model) if s is not None else ""
        if (s is not None and s.server_type in PATH_LOADING_TYPES and model.startswith(("/", "./", "../", "~"))
                and not os.path.exists(os.path.expanduser(model))):
            flag = "--judge_model" if job.kind == "judge" else "--model"
            raise UsageError(f"{flag} {model}: no such file or folder (the {s.server_type} server of job "
                             f"{job.name} loads the model from it)")
