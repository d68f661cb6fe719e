"""nemo-run tunnels: ``LocalTunnel`` on the login node, ``SSHTunnel`` for a remote cluster.

Secrets (``Job.secret_env`` names) reach jobs through the environment of ``sbatch`` (it exports
the submitter's environment by default). Locally that is simply this process's environment; over
SSH, ``EnvSSHTunnel`` hands the values to the remote ``sbatch`` in the SSH exec request itself
(fabric's inline env), so they are never written into a file on either side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List

from nemo_run.core.tunnel.client import LocalTunnel, SSHTunnel


@dataclass(kw_only=True)
class NoStdinLocalTunnel(LocalTunnel):
    """``LocalTunnel`` whose commands never read our stdin (invoke forwards it by default)."""

    def run(self, command: str, hide: bool = True, warn: bool = False, **kwargs):
        kwargs.setdefault("in_stream", False)
        return super().run(command, hide=hide, warn=warn, **kwargs)


@dataclass(kw_only=True)
class EnvSSHTunnel(SSHTunnel):
    """``SSHTunnel`` that exports ``forward_env`` (names only are stored) to remote ``sbatch``."""

    forward_env: List[str] = field(default_factory=list)

    def run(self, command: str, hide: bool = True, warn: bool = False, **kwargs):
        if command.lstrip().startswith("sbatch") and self.forward_env:
            env = {n: os.environ[n] for n in self.forward_env if n in os.environ}
            kwargs["env"] = {**env, **kwargs.get("env", {})}
        kwargs.setdefault("in_stream", False)
        return super().run(command, hide=hide, warn=warn, **kwargs)


def make_tunnel(cluster, secrets: List[str] = ()):
    """The tunnel for a cluster config: SSH when ``ssh_tunnel`` is set, else local.

    Locally ``job_dir=""`` keeps nemo-run's files under ``$NEMORUN_HOME/experiments`` (the sbatch
    script is written there and read there by sbatch, see docs/slurm.md).
    """
    t = getattr(cluster, "ssh_tunnel", None)
    if t is None:
        return NoStdinLocalTunnel(job_dir="")
    return EnvSSHTunnel(
        host=t.host, user=t.user or os.environ.get("USER", ""), job_dir=t.job_dir,
        identity=t.identity, port=getattr(t, "port", None), shell=getattr(t, "shell", None),
        pre_command=getattr(t, "pre_command", None), forward_env=list(secrets),
    )
