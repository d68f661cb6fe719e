"""Weights & Biases options of ``ns eval`` / ``ns generate``: the metrics jobs log their tables
(``--wandb_name``), the first seed's generations are uploaded (``--log_samples``), and the key
travels by name.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional

from skills.metrics.wandb_log import check_names

WANDB_KEY = "WANDB_API_KEY"


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
        check_names(self.wandb_name, self.wandb_group, self.wandb_project)


def wandb_secrets(jobs: Iterable[Any]) -> None:
    """Jobs logging to W&B get the key by name (only when it is set here)."""
    if os.environ.get(WANDB_KEY):
        for job in jobs:
            if WANDB_KEY not in job.secret_env:
                job.secret_env.append(WANDB_KEY)
