"""The job plan: what ``ns eval`` / ``ns generate`` / ``ns run_cmd`` decide to run.

Data flows one way: CLI -> typed config -> ``Plan`` (this module) -> executor (local processes or
Slurm through nemo-run) -> programs -> files -> metrics. A ``Plan`` is plain data: ``--dry_run``
prints it (text or JSON) and executors only read it, so what is printed is exactly what runs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from skills.servers.spec import ServerSpec


@dataclass
class SidecarSpec:
    """A service started before a job's commands and stopped after them (e.g. the code sandbox).

    Locally it is a process of its own; on Slurm it runs in the background of the job's main step.
    ``client_env`` (e.g. ``SKILLS_SANDBOX_URL``) is merged into the job's environment."""

    name: str
    command: str  # exact launch line
    port: int
    health_url: str  # polled until it answers 200
    env: Dict[str, str] = field(default_factory=dict)  # environment of the sidecar process only
    client_env: Dict[str, str] = field(default_factory=dict)


@dataclass
class Job:
    """One schedulable unit: one sbatch on Slurm, one process group locally."""

    name: str  # unique in the plan: <expname>-<bench>-rs<seed>..., <expname>-<bench>-judge-rs.., ...
    kind: str  # generation | judge | grading | metrics | group-metrics | prepare | command | server
    commands: List[str]  # shell commands, run in order; any failure fails the job
    # the argv of every program those commands start, in order (for tools and tests: no shell parsing)
    programs: List[List[str]] = field(default_factory=list)
    dependencies: List[str] = field(default_factory=list)  # names of jobs in the same plan
    server: Optional[ServerSpec] = None
    # --server_replicas: the further replicas of ``server`` (the same model and launch line, each
    # on its own port and GPUs); the job's programs are given every replica's URL
    replicas: List[ServerSpec] = field(default_factory=list)
    sidecars: List[SidecarSpec] = field(default_factory=list)
    benchmarks: List[str] = field(default_factory=list)
    gpus: int = 0  # GPUs per node the job needs (server GPUs when hosting one)
    nodes: int = 1
    tasks_per_node: int = 1
    log_dir: Optional[str] = None
    done_markers: List[str] = field(default_factory=list)  # files that prove the job finished
    env: Dict[str, str] = field(default_factory=dict)  # non-secret environment
    secret_env: List[str] = field(default_factory=list)  # NAMES passed from the environment, never values
    container: Optional[str] = None
    partition: Optional[str] = None
    time_limit: Optional[str] = None
    chain_index: int = 0  # --dependent_jobs: copy number within a resume chain
    qos: Optional[str] = None
    time_min: Optional[str] = None
    exclusive: Optional[bool] = None
    sbatch_kwargs: Dict[str, str] = field(default_factory=dict)  # extra sbatch parameters
    workdir: Optional[str] = None  # folder the commands run in (None = where ns was started)

    def servers(self) -> List[ServerSpec]:
        """The job's hosted servers: ``server`` and its replicas (empty: an existing endpoint)."""
        return ([self.server] if self.server is not None else []) + list(self.replicas)


@dataclass
class Plan:
    expname: str
    cluster: str  # cluster config name ("local" for the built-in default)
    executor: str  # local | slurm | none
    jobs: List[Job] = field(default_factory=list)
    output_dir: Optional[str] = None
    log_dir: Optional[str] = None
    notes: List[str] = field(default_factory=list)  # e.g. "aime24 seeds 0-3 already done"
    run_after: List[str] = field(default_factory=list)  # slurm: experiments to wait for
    required_env: List[str] = field(default_factory=list)  # NAMES that must be set to run it
    # per benchmark: data file, prompt config, overrides, seeds, outputs (see skills.pipeline.manifest)
    manifest: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    def job(self, name: str) -> Job:
        for j in self.jobs:
            if j.name == name:
                return j
        raise KeyError(name)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
