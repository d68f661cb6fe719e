"""Reference options shared by ``ns eval / generate / prepare_data`` that act on a whole plan.

Pasted reference command lines carry options about code packaging, containers and installation.
Those with an effect a user would miss are implemented here (``--installation_command``,
``--check_mounted_paths``, ``--skip_hf_home_check``, W&B); the others are accepted with one line
saying why they do not apply.
"""

from __future__ import annotations

import os
import shlex
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Tuple

from skills.config.errors import UsageError

WANDB_KEY = "WANDB_API_KEY"


@dataclass
class ReferenceOptions:
    installation_command: Optional[str] = None
    check_mounted_paths: Optional[bool] = None
    skip_hf_home_check: Optional[bool] = None
    keep_mounts_for_sandbox: Optional[bool] = None
    reuse_code: Optional[bool] = None
    reuse_code_exp: Optional[str] = None


@dataclass
class WandbOptions:
    wandb_name: Optional[str] = None
    wandb_group: Optional[str] = None
    wandb_project: str = "nemo-skills"
    log_samples: bool = False

    def summarize_args(self) -> List[str]:
        """Forwarded to the metrics jobs only when a run name is given (as in the reference)."""
        if not self.wandb_name:
            return []
        args = ["--wandb_name", self.wandb_name, "--wandb_project", self.wandb_project]
        return args + (["--wandb_group", self.wandb_group] if self.wandb_group else [])

    def samples_command(self, output: str, expname: str, guard: bool = False) -> str:
        """``--log_samples``: 200 random lines of ``output`` to W&B (run name: --wandb_name, else expname)."""
        argv = ["python", "-m", "skills.metrics.wandb_log", output, "--name", self.wandb_name or expname,
                "--project", self.wandb_project] + (["--group", self.wandb_group] if self.wandb_group else [])
        cmd = " ".join(shlex.quote(a) for a in argv)
        return f"{{ [ ! -f {shlex.quote(output)} ] || {cmd}; }}" if guard else cmd

    def check(self) -> None:
        from skills.metrics.wandb_log import check_names

        check_names(self.wandb_name, self.wandb_group, self.wandb_project)


def before_plan(ref: ReferenceOptions, cluster: Any) -> None:
    """Checks and notes that do not depend on the plan."""
    from skills.cli.common import not_applicable

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


def after_plan(plan: Any, ref: ReferenceOptions, cluster: Any) -> None:
    """``--installation_command`` in front of every job; the HF_HOME check as a plan note."""
    if ref.installation_command:
        from skills.config.mounts import translate_text

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


def wandb_secrets(jobs: Iterable[Any]) -> None:
    """Jobs logging to W&B get the key by name (only when it is set here)."""
    if os.environ.get(WANDB_KEY):
        for job in jobs:
            if WANDB_KEY not in job.secret_env:
                job.secret_env.append(WANDB_KEY)


GENERATION_TYPES = {"generate": "skills.inference.generate"}
NOT_IMPLEMENTED_TYPES = {"math_judge": "nemo_skills.inference.llm_math_judge",
                         "check_contamination": "nemo_skills.inference.check_contamination"}


def generation_module(generation_type: Optional[str], module: Optional[str], flag: str = "--generation") -> Optional[str]:
    """``--generation_type`` (the reference's fixed map) or ``--generation_module``; not both."""
    if generation_type and module:
        raise UsageError(f"give {flag}_type or {flag}_module, not both")
    if generation_type is None:
        return module
    if generation_type in GENERATION_TYPES:
        return GENERATION_TYPES[generation_type]
    if generation_type in NOT_IMPLEMENTED_TYPES:
        raise UsageError(f"{flag}_type={generation_type} (the reference's {NOT_IMPLEMENTED_TYPES[generation_type]}) is "
                         f"not implemented; write a generation module and pass {flag}_module")
    raise UsageError(f"{flag}_type must be one of generate, math_judge, check_contamination, not '{generation_type}'")


def job_concurrency(groups: List[List[str]], api: bool) -> Tuple[List[int], int]:
    """``++max_concurrent_requests`` as a limit on a whole job talking to an API (e.g. the HLE judge's
    8 seeds in one job): (per-command shares, parallel lanes). A hosted server keeps the reference's
    per-command meaning, and so does a job with one command. ``groups``: each command's tokens."""
    if not api or len(groups) < 2:
        return [], len(groups)
    limit = min(_requested(tokens) for tokens in groups)
    lanes = min(len(groups), limit)
    return [limit // lanes + (1 if k < limit % lanes else 0) for k in range(lanes)], lanes


def _requested(tokens: List[str]) -> int:
    value = 512  # GenerateConfig's default
    for tok in tokens:
        key, _, raw = tok.lstrip("+").partition("=")
        if key == "max_concurrent_requests" and raw.isdigit():
            value = int(raw)
    return max(value, 1)


def check_extra_datasets_type(kind: Optional[str], cluster: Any) -> None:
    """``local``: the folder is on this machine; ``cluster`` (Slurm): on the cluster, which is this
    machine when ns runs there (no ssh tunnel). Reading it over ssh is not implemented."""
    kind = kind or os.environ.get("SKILLS_EXTRA_DATASETS_TYPE") or os.environ.get("NEMO_SKILLS_EXTRA_DATASETS_TYPE")
    if kind in (None, "", "local"):
        return
    if kind != "cluster":
        raise UsageError(f"--extra_datasets_type must be local or cluster, not '{kind}'")
    if not cluster.is_slurm:
        raise UsageError("--extra_datasets_type=cluster is only valid with a Slurm cluster config")
    if cluster.ssh_tunnel is not None:
        raise UsageError("--extra_datasets_type=cluster over an ssh tunnel is not implemented; copy the folder "
                         "to this machine and use --extra_datasets_type=local")
