"""Reference options that act on a whole plan (``ns eval / generate / prepare_data``).

Pasted reference command lines carry options about code packaging, containers and installation.
Those with an effect a user would miss are implemented: ``--installation_command`` runs before
every job, the HF_HOME check becomes a plan note (``after_plan``), ``--check_mounted_paths`` is
checked by the commands (``skills.cli.reference``); the others are accepted with one line saying why
they do not apply.
"""

from __future__ import annotations

import os
import shlex
import uuid
from dataclasses import dataclass
from typing import Any, Optional

from skills.config.mounts import translate_text


@dataclass
class ReferenceOptions:
    installation_command: Optional[str] = None
    check_mounted_paths: Optional[bool] = None
    skip_hf_home_check: Optional[bool] = None
    keep_mounts_for_sandbox: Optional[bool] = None
    reuse_code: Optional[bool] = None
    reuse_code_exp: Optional[str] = None


def after_plan(plan: Any, ref: ReferenceOptions, cluster: Any) -> None:
    """``--installation_command`` in front of every job; the HF_HOME check as a plan note."""
    if ref.installation_command:
        key = uuid.uuid4().hex[:16]  # one installation per node and plan
        command = translate_text(cluster, ref.installation_command)
        guard = " ".join(shlex.quote(a) for a in ["python", "-m", "skills.pipeline.install_guard", key, command])
        for job in plan.jobs:
            job.commands.insert(0, guard)
    skip = ref.skip_hf_home_check if ref.skip_hf_home_check is not None else cluster.skip_hf_home_check
    if not skip:
        note = hf_home_problem(cluster)
        if note:
            plan.notes.append(note)


def hf_home_problem(cluster: Any) -> Optional[str]:
    """Containers on Slurm lose models downloaded by name unless HF_HOME is set and mounted."""
    if not cluster.is_slurm or not cluster.containers:
        return None
    literal, names = cluster.job_env()
    value = literal.get("HF_HOME") or (os.environ.get("HF_HOME") if "HF_HOME" in names else None)
    if value is None:
        return ("warning: HF_HOME is not among the cluster config's env_vars: models given by name are downloaded "
                "inside each container and lost (add HF_HOME=/mounted/path; --skip_hf_home_check silences this)")
    dsts = [m.split(":")[-1].rstrip("/") for m in cluster.mounts if ":" in m]
    if not any(value == d or value.startswith(d + "/") for d in dsts):
        return f"warning: HF_HOME={value} is not under a mount of the cluster config (--skip_hf_home_check silences this)"
    return None
