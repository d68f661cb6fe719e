"""Plan jobs -> nemo-run tasks and ``SlurmExecutor``s (one sbatch per Job).

A Job with a ``ServerSpec`` becomes a task group ``[server, client]`` in one allocation: two
background ``srun --overlap`` steps; nemo-run's monitor kills the server once the client ends and
the job's exit code is the client's (or the server's, when the server dies first).
"""

from __future__ import annotations

import copy
import os
import shlex
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import nemo_run as run
from nemo_run.core.execution.slurm import SlurmExecutor, SlurmJobDetails

from skills.pipeline.plan import Job, Plan

GROUP_MONITOR_S = 5  # seconds between checks of the server/client steps (and grace before kill)
SERVER_WAIT_S = 7200  # default wait for a booting server ($SKILLS_SERVER_WAIT_S at run time)
EXECUTOR_FIELDS = {f.name for f in fields(SlurmExecutor) if f.init}


@dataclass(kw_only=True)
class LogDirJobDetails(SlurmJobDetails):
    """Log names in ``--log_dir``: ``<job>_<id>_sbatch.log`` and ``<role>_<job>_<id>_srun.log``."""

    role: str = "main"

    @property
    def stdout(self) -> Path:
        return Path(self.folder) / f"{self.job_name}_%j_sbatch.log"

    @property
    def stderr(self) -> Path:
        return Path(self.folder) / f"{self.job_name}_%j_sbatch.err"

    @property
    def srun_stdout(self) -> Path:
        return Path(self.folder) / f"{self.role}_{self.job_name}_%j_srun.log"

    @property
    def srun_stderr(self) -> Path:
        return Path(self.folder) / f"{self.role}_{self.job_name}_%j_srun.err"

    @property
    def ls_term(self) -> str:
        return os.path.join(self.folder, f"*{self.job_name}_*")


def slurm_job_name(job: Job, cluster) -> str:
    """``job_name_prefix`` + job name, cut like the reference (100 chars + ``-name-cut``)."""
    name = job.name if len(job.name) <= 100 else job.name[:100] + "-name-cut"
    return f"{getattr(cluster, 'job_name_prefix', '') or ''}{name}"


def log_paths(job: Job, plan: Plan, cluster, default_folder: str = "") -> Dict[str, str]:
    """Log file templates (``%j`` = Slurm job id); without a log dir nemo-run's task folder is used."""
    folder = job.log_dir or plan.log_dir or default_folder
    if not folder:
        return {}
    name = slurm_job_name(job, cluster)
    out = {"sbatch": os.path.join(folder, f"{name}_%j_sbatch.log"),
           "main": os.path.join(folder, f"main_{name}_%j_srun.log")}
    if job.server is not None:
        out["server"] = os.path.join(folder, f"server_{name}_%j_srun.log")
    return out


def _partition(job: Job, cluster) -> Optional[str]:
    if job.partition:
        return job.partition
    if job.gpus == 0 and getattr(cluster, "cpu_partition", None):
        return cluster.cpu_partition
    return getattr(cluster, "partition", None)


def _time_limit(job: Job, cluster, partition: Optional[str]) -> Optional[str]:
    if job.time_limit:
        return job.time_limit
    timeout_for = getattr(cluster, "timeout_for", None)
    return timeout_for(partition) if timeout_for else None


def _mounts(cluster) -> List[str]:
    return [os.path.expandvars(m) for m in getattr(cluster, "mounts", None) or []]


def split_sbatch_kwargs(kwargs: Dict) -> Tuple[Dict, Dict]:
    """(SlurmExecutor fields, extra ``#SBATCH`` parameters); ``time-min`` and ``time_min`` alike."""
    fields_, extra = {}, {}
    for key, value in kwargs.items():
        norm = str(key).lstrip("-").replace("-", "_")
        (fields_ if norm in EXECUTOR_FIELDS else extra)[norm] = value
    return fields_, extra


def _executor(job: Job, plan: Plan, cluster, tunnel, *, role: str, nodes: int, tasks: int,
              container: Optional[str], env: Dict[str, str], srun_args: List[str],
              extra_params: Dict) -> SlurmExecutor:
    partition = _partition(job, cluster)
    gpus = job.gpus if not getattr(cluster, "disable_gpus_per_node", False) else 0
    params = {"kill_on_invalid_dep": "yes"}
    for key in ("mail_type", "mail_user"):
        if getattr(cluster, key, None):
            params[key] = getattr(cluster, key)
    if job.time_min:
        params["time_min"] = job.time_min
    params.update(extra_params)
    kw = dict(
        account=cluster.account or "", partition=partition, time=_time_limit(job, cluster, partition),
        nodes=nodes, ntasks_per_node=tasks, gpus_per_node=gpus or None, qos=job.qos,
        exclusive=True if job.exclusive else None, mem="0" if job.exclusive else None,
        env_vars={k: shlex.quote(str(v)) for k, v in env.items()},
        srun_args=srun_args, tunnel=copy.deepcopy(tunnel), packager=run.Packager(),
        poll_estimated_start_time=False,
        dependency_type="afterany" if job.chain_index > 0 else "afterok",
        job_details=LogDirJobDetails(job_name=slurm_job_name(job, cluster), role=role,
                                     folder=job.log_dir or plan.log_dir or None),
        wait_time_for_group_job=0, monitor_group_job_wait_time=GROUP_MONITOR_S,
    )
    if container:  # pyxis only when the cluster config names an image for this role
        kw.update(container_image=container, container_mounts=_mounts(cluster),
                  container_env=sorted({*env, *job.secret_env}) or None)
    cluster_fields, cluster_extra = split_sbatch_kwargs(getattr(cluster, "sbatch_kwargs", None) or {})
    job_fields, job_extra = split_sbatch_kwargs(job.sbatch_kwargs or {})
    kw.update(cluster_fields)
    kw.update(job_fields)
    params.update(cluster_extra)
    params.update(job_extra)
    kw["additional_parameters"] = params
    return SlurmExecutor(**kw)


def _wait_for_server(url: str) -> str:
    """Bash that waits until the server answers 2xx (python, so no curl is needed in the image)."""
    probe = ("import sys,urllib.request as u\n"
             "try: u.urlopen(sys.argv[1], timeout=5)\n"
             "except u.HTTPError as e: sys.exit(0 if 'any_status=1' in sys.argv[1] and e.code < 500 else 1)\n"
             "except Exception: sys.exit(1)")
    return (f"_deadline=$((SECONDS + ${{SKILLS_SERVER_WAIT_S:-{SERVER_WAIT_S}}}))\n"
            f"until python3 -c {shlex.quote(probe)} {shlex.quote(url)}; do\n"
            f"  if [ $SECONDS -ge $_deadline ]; then echo 'server at {url} did not come up' >&2; exit 1; fi\n"
            f"  sleep 3\ndone\n")


def server_exit_file(job: Job, plan: Plan) -> Optional[str]:
    """Shell word naming the file the server step writes its exit code to (shared file system)."""
    folder = job.log_dir or plan.log_dir
    if job.server is None or not folder:
        return None
    return f'{shlex.quote(folder)}/".{job.name}.server-exit.${{SLURM_JOB_ID:-0}}"'


def _server_watch(exit_file: str) -> str:
    """Bash that ends the client step when the server step has exited (else clients wait for it)."""
    return (f"_server_exit={exit_file}\n"
            "( while sleep 5; do if [ -f \"$_server_exit\" ]; then\n"
            "    echo \"the server exited with code $(cat \"$_server_exit\") while the job ran;"
            " see the server_*_srun.log of this job\" >&2; kill -TERM 0; exit 1; fi; done ) &\n"
            "_bg_pids+=($!)\n")


def _sidecars(job: Job, log_folder: Optional[str]) -> str:
    """Bash that starts the job's sidecars in the background of the main step, logs in the log folder."""
    lines = []
    for sc in job.sidecars:
        exports = "".join(f"export {k}={shlex.quote(str(v))}; " for k, v in sc.env.items())
        log = (f'{shlex.quote(log_folder)}/"{sc.name}_{job.name}_${{SLURM_JOB_ID:-0}}.log"' if log_folder
               else "/dev/null")
        lines.append(f"( {exports}exec {sc.command} ) > {log} 2>&1 &")
        lines.append("_bg_pids+=($!)")
    for sc in job.sidecars:
        lines.append(_wait_for_server(sc.health_url).rstrip("\n"))
    return "\n".join(lines)


def client_script(job: Job, workdir: Optional[str], bindir: Optional[str] = None,
                  exit_file: Optional[str] = None, log_folder: Optional[str] = None) -> str:
    """The job's commands in order; the first failure ends the job with its exit code.

    ``bindir`` (plain processes on a shared file system) goes first on PATH so that ``python``
    is the launcher's environment, as with the local executor. ``exit_file``: see ``_server_watch``."""
    lines = []
    if bindir:
        lines.append(f'export PATH={shlex.quote(bindir)}:"$PATH"')
    if workdir:
        lines.append(f"cd {shlex.quote(workdir)} || exit 1")
    if job.server is not None or job.sidecars:
        lines.append("_bg_pids=()")
        lines.append("trap '[ ${#_bg_pids[@]} -gt 0 ] && kill ${_bg_pids[@]} 2>/dev/null' EXIT")
    if job.sidecars:
        lines.append(_sidecars(job, log_folder))
    if job.server is not None:
        if exit_file:
            lines.append(_server_watch(exit_file).rstrip("\n"))
        lines.append(_wait_for_server(job.server.health_url).rstrip("\n"))
    for cmd in job.commands:
        lines.append(f"(\n{cmd}\n) || exit $?")
    return "\n".join(lines) + "\n"


def server_script_text(job: Job, workdir: Optional[str], exit_file: Optional[str] = None) -> str:
    """The server step: its own environment (exported here, not for the client), then its command;
    with ``exit_file`` its exit code is recorded there for the client's watch."""
    lines = []
    if workdir:
        lines.append(f"cd {shlex.quote(workdir)} || exit 1")
    lines += [f"export {k}={shlex.quote(str(v))}" for k, v in job.server.env.items()]
    lines += [f'export {k}="${{{name}}}"' for k, name in job.server.secret_env.items()]  # by name, never by value
    if exit_file:
        lines += [f"rm -f {exit_file}", f"(\n{job.server.command}\n)", "_rc=$?", f"echo $_rc > {exit_file}",
                  "exit $_rc"]
    else:
        lines.append(job.server.command)
    return "\n".join(lines) + "\n"


def add_job(exp, job: Job, plan: Plan, cluster, tunnel, deps: List[str], mpi: Optional[str],
            workdir: Optional[str], extra_params: Dict) -> str:
    """Add one Job to the nemo-run experiment; returns its task id."""
    mpi_args = [f"--mpi={mpi}"] if mpi else []
    # without a container and without ssh (login node = submit host) the jobs share our file system
    bindir = None if job.container or getattr(cluster, "ssh_tunnel", None) else os.path.dirname(sys.executable)
    exit_file = server_exit_file(job, plan)
    wd = job.workdir or workdir
    script = run.Script(inline=client_script(job, wd, bindir, exit_file, job.log_dir or plan.log_dir))

    def chdir(container: Optional[str]) -> List[str]:
        # nemo-run points plain-process steps at its (uncreated) code folder; slurmstepd then logs
        # "couldn't chdir". A later --chdir wins: start where the script will cd anyway.
        return [f"--chdir={wd}"] if wd and not container else []

    if job.server is None:
        ex = _executor(job, plan, cluster, tunnel, role="main", nodes=job.nodes,
                       tasks=job.tasks_per_node, container=job.container, env=job.env,
                       srun_args=[*mpi_args, *chdir(job.container)], extra_params=extra_params)
        return exp.add(script, executor=ex, name=job.name, dependencies=deps or None)
    s = job.server
    nodes = max(job.nodes, s.nodes)
    server_args = ["--overlap", *mpi_args, "--wait=10", "--ntasks-per-node=1", f"--nodes={s.nodes}",
                   *chdir(s.container)]
    client_args = ["--overlap", *mpi_args, "--wait=10", "--ntasks=1", "--nodes=1", *chdir(job.container)]
    server_ex = _executor(job, plan, cluster, tunnel, role="server", nodes=nodes, tasks=1,
                          container=s.container, env=job.env, srun_args=server_args,
                          extra_params=extra_params)
    client_ex = _executor(job, plan, cluster, tunnel, role="main", nodes=nodes, tasks=1,
                          container=job.container, env=job.env, srun_args=client_args,
                          extra_params=extra_params)
    server_script = run.Script(inline=server_script_text(job, wd, exit_file))
    return exp.add([server_script, script], executor=[server_ex, client_ex], name=job.name,
                   dependencies=deps or None)
