"""``ns run_cmd`` -> Plan with one job running an arbitrary shell command (maybe next to a server)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.config.secrets import has_userinfo
from skills.pipeline.jobs import SlurmOptions, apply_slurm, chain, check_expname
from skills.pipeline.plan import Job, Plan
from skills.pipeline.state import state_dir
from skills.pipeline.servers import PortAllocator, ServerOptions, check_server_options, make_server, server_secrets
from skills.pipeline.sidecars import make_sidecars


@dataclass
class RunCmdOptions:
    command: str
    cluster: ClusterConfig
    server: ServerOptions = field(default_factory=ServerOptions)
    slurm: SlurmOptions = field(default_factory=SlurmOptions)
    expname: str = "script"
    container: Optional[str] = None
    num_gpus: Optional[int] = None
    num_nodes: int = 1
    log_dir: Optional[str] = None
    with_sandbox: bool = False


def build_run_cmd_plan(o: RunCmdOptions) -> Plan:
    if not o.command.strip():
        raise UsageError("empty command")
    check_expname(o.expname)
    if (o.num_gpus or 0) < 0 or o.num_nodes < 1:
        raise UsageError(f"--num_gpus must be >= 0 and --num_nodes >= 1 (got {o.num_gpus}, {o.num_nodes})")
    server = None
    env = {}
    ports = PortAllocator(o.cluster)
    if (o.server.server_replicas or 1) > 1:
        raise UsageError("--server_replicas is for ns eval / ns generate (their programs spread requests over "
                         "the replicas); ns run_cmd hosts one server")
    if o.server.server_gpus:
        check_server_options(o.server)
        server = make_server(o.server, o.cluster, ports)
        env = {"SKILLS_SERVER_BASE_URL": f"http://127.0.0.1:{server.port}/v1",  # type: ignore[union-attr]
               "SKILLS_SERVER_PORT": str(server.port)}  # type: ignore[union-attr]
    elif o.server.server_address:
        env = {"SKILLS_SERVER_BASE_URL": o.server.server_address}
    secrets = server_secrets(server)
    if has_userinfo(env.get("SKILLS_SERVER_BASE_URL")):  # user:password@ travels by name, like keys
        os.environ["SKILLS_SERVER_BASE_URL"] = env.pop("SKILLS_SERVER_BASE_URL")
        secrets.append("SKILLS_SERVER_BASE_URL")
    log_dir = o.log_dir or str(state_dir() / o.expname)
    gpus = server.gpus if server else (o.num_gpus or 0)
    sidecars = make_sidecars(["sandbox"] if o.with_sandbox else [], o.cluster, ports)
    env.update({k: v for sc in sidecars for k, v in sc.client_env.items()})
    job = Job(name=o.expname, kind="command", commands=[o.command], server=server, gpus=gpus, sidecars=sidecars,
              nodes=server.nodes if server else o.num_nodes, log_dir=log_dir, env=env,
              container=o.container if o.cluster.is_slurm else None, secret_env=secrets)
    apply_slurm(job, o.cluster, o.slurm)
    if o.container and o.cluster.is_slurm:
        job.container = o.cluster.containers.get(o.container, o.container)
    jobs, _ = chain([job], o.slurm.dependent_jobs)
    return Plan(expname=o.expname, cluster=o.cluster.name, executor=o.cluster.executor, jobs=jobs,
                log_dir=log_dir, run_after=list(o.slurm.run_after),
                required_env=[e for e in o.cluster.required_env_vars if "=" not in e])
