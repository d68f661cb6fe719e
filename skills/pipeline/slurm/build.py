"""Plan jobs -> nemo-run tasks and ``SlurmExecutor``s (one sbatch per Job).

A Job with a ``ServerSpec`` becomes a task group ``[server, client]`` in one allocation: two
background ``srun --overlap`` steps; nemo-run's monitor kills the server once the client ends and
the job's exit code is the client's (or the server's, when the server dies first). With
``--server_replicas`` the server step starts every replica as a process of its own on the job's
node (its planned port, its share of the GPUs), and ends, with the last one's exit code, only when
all have exited; the client waits for each to answer.
"""

from __future__ import annotations

import copy
import os
import re
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
MASTER_NODE = '$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1)'


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
    def srun_stdout(self) -> Path:  # nemo-run reads srun_stdout/srun_stderr for the srun --output/--error
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
              extra_params: Dict, shell_env: Optional[Dict[str, str]] = None) -> SlurmExecutor:
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
        # shell_env: values the sbatch script expands itself (on the batch host, outside any container)
        env_vars={**{k: shlex.quote(str(v)) for k, v in env.items()}, **(shell_env or {})},
        srun_args=srun_args, tunnel=copy.deepcopy(tunnel), packager=run.Packager(),
        poll_estimated_start_time=False,
        dependency_type="afterany" if job.chain_index > 0 else "afterok",
        job_details=LogDirJobDetails(job_name=slurm_job_name(job, cluster), role=role,
                                     folder=job.log_dir or plan.log_dir or None),
        wait_time_for_group_job=0, monitor_group_job_wait_time=GROUP_MONITOR_S,
    )
    if container:  # pyxis only when the cluster config names an image for this role
        kw.update(container_image=container, container_mounts=_mounts(cluster),
                  container_env=sorted({*env, *(shell_env or {}), *job.secret_env}) or None)
    cluster_fields, cluster_extra = split_sbatch_kwargs(getattr(cluster, "sbatch_kwargs", None) or {})
    job_fields, job_extra = split_sbatch_kwargs(job.sbatch_kwargs or {})
    kw.update(cluster_fields)
    kw.update(job_fields)
    params.update(cluster_extra)
    params.update(job_extra)
    kw["additional_parameters"] = params
    return SlurmExecutor(**kw)


PROBE = ("import sys,urllib.request as u\n"
         "try: u.urlopen(sys.argv[1], timeout=5)\n"
         "except u.HTTPError as e: sys.exit(0 if 'any_status=1' in sys.argv[1] and e.code < 500 else 1)\n"
         "except Exception: sys.exit(1)")
FREE_PORT = ("import socket,sys\n"
             "def free(p):\n"
             "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
             "    try: s.bind(('127.0.0.1', p)); return True\n"
             "    except OSError: return False\n"
             "    finally: s.close()\n"
             "p = int(sys.argv[1])\n"
             "if not free(p):\n"
             "    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close()\n"
             "print(p)")
BIND_ERRORS = "address already in use|errno 98|eaddrinuse|could not bind|port is already"
TAIL = 30


def _helpers() -> str:
    """Bash functions of the job script: a free port (the planned one when it is free) and a wait
    for a service that gives up at once, with the last lines of its log, when the service is gone."""
    return f"""_skills_free_port() {{ python3 -c {shlex.quote(FREE_PORT)} "$1"; }}
_skills_gone() {{  # pid: is that background process gone? (a zombie counts as gone)
  [ ! -d "/proc/$1" ] || [ "$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]
}}
_skills_wait() {{  # url pid exit_file log name: until the url answers, the service exits or the time is up
  local deadline=$((SECONDS + ${{SKILLS_SERVER_WAIT_S:-{SERVER_WAIT_S}}}))
  until python3 -c {shlex.quote(PROBE)} "$1"; do
    if [ -n "$2" ] && _skills_gone "$2"; then
      echo "$5 exited before $1 answered; last lines of its log $4:" >&2; tail -n {TAIL} "$4" >&2; return 1
    fi
    if [ -n "$3" ] && [ -f "$3" ]; then
      echo "$5 exited with code $(cat "$3") before $1 answered; last lines of its log $4:" >&2
      tail -n {TAIL} "$4" >&2; return 1
    fi
    if [ $SECONDS -ge $deadline ]; then echo "$5 at $1 did not come up" >&2; return 1; fi
    sleep 3
  done
}}"""


def _port_pattern(port: int) -> "re.Pattern":
    return re.compile(rf"(--port[= ]|(?:127\.0\.0\.1|localhost|0\.0\.0\.0):){port}(?!\d)")


def _with_port_var(text: str, port: int, var: str) -> str:
    """``text`` as one shell word with every use of ``port`` replaced by ``$var`` (expanded at run time)."""
    parts = _port_pattern(port).split(text)
    out = []
    for i in range(0, len(parts), 2):  # split() interleaves the captured prefixes
        chunk = parts[i] + (parts[i + 1] if i + 1 < len(parts) else "")
        out.append(shlex.quote(chunk) if chunk else "")
        if i + 1 < len(parts):
            out.append(f'"${{{var}}}"')
    return "".join(out) or "''"


def server_exit_file(job: Job, plan: Plan) -> Optional[str]:
    """Shell word naming the file the server step writes its exit code to (shared file system)."""
    folder = job.log_dir or plan.log_dir
    if job.server is None or not folder:
        return None
    return f'{shlex.quote(folder)}/".{job.name}.server-exit.${{SLURM_JOB_ID:-0}}"'


def server_port_file(job: Job, plan: Plan) -> Optional[str]:
    """Shell word naming the file the server step writes the port it chose to (single-node servers
    whose launch line says ``--port``; others keep the planned port)."""
    folder = job.log_dir or plan.log_dir
    s = job.server
    if (s is None or not folder or s.nodes > 1 or s.tasks_per_node > 1 or job.replicas
            or not _port_pattern(s.port).search(s.command)):
        return None
    return f'{shlex.quote(folder)}/".{job.name}.server-port.${{SLURM_JOB_ID:-0}}"'


def _server_watch(exit_file: str) -> str:
    """Bash that ends the client step when the server step has exited (else clients wait for it)."""
    return (f"_server_exit={exit_file}\n"
            "( while sleep 5; do if [ -f \"$_server_exit\" ]; then\n"
            "    echo \"the server exited with code $(cat \"$_server_exit\") while the job ran; last lines of its log"
            f" $_server_log:\" >&2; tail -n {TAIL} \"$_server_log\" >&2; kill -TERM 0; exit 1; fi; done ) &\n"
            "_bg_pids+=($!)\n")


def _sidecar_log(job: Job, sc, log_folder: Optional[str]) -> str:
    return (f'{shlex.quote(log_folder)}/"{sc.name}_{job.name}_${{SLURM_JOB_ID:-0}}.log"' if log_folder
            else "/dev/null")


def _sidecars(job: Job, log_folder: Optional[str]) -> str:
    """Bash that starts the job's sidecars in the background of the main step, logs in the log folder.

    Each gets its port now (the planned one when it is free); a failure to bind moves it to another
    port (3 tries); the wait for it ends at once, with its log tail, when it exits; its clients'
    variables are exported with the port it got."""
    lines = []
    for i, sc in enumerate(job.sidecars):
        var, log = f"_port_{i}", f'"$_log_{i}"'
        exports = "".join(f"export {k}={shlex.quote(str(v))}; " for k, v in sc.env.items())
        command = _port_pattern(sc.port).sub(lambda m: m.group(1) + f"${{{var}}}", sc.command)
        lines += [
            f"_log_{i}={_sidecar_log(job, sc, log_folder)}",
            "_try=0",
            "while :; do",
            f"  {var}=$(_skills_free_port {sc.port})",
            f"  ( {exports}exec {command} ) > {log} 2>&1 &",
            f"  _pid_{i}=$!; _bg_pids+=($_pid_{i})",
            f"  if _skills_wait {_with_port_var(sc.health_url, sc.port, var)} \"$_pid_{i}\" '' {log} "
            f"{shlex.quote('sidecar ' + sc.name)}; then break; fi",
            "  _try=$((_try + 1))",
            f"  if [ $_try -ge 3 ] || ! tail -n 15 {log} | grep -qiE {shlex.quote(BIND_ERRORS)}; then exit 1; fi",
            f'  echo "sidecar {sc.name} could not bind port ${{{var}}}; trying another" >&2',
            "done",
        ]
        lines += [f"export {k}={_with_port_var(v, sc.port, var)}" for k, v in sc.client_env.items()]
    if job.sidecars:  # one that exits while the commands run ends the job with its log tail
        checks = "".join(
            f'    if _skills_gone "$_pid_{i}"; then echo "the sidecar {sc.name} exited while the job ran; last lines '
            f'of its log $_log_{i}:" >&2; tail -n {TAIL} "$_log_{i}" >&2; kill -TERM 0; exit 1; fi\n'
            for i, sc in enumerate(job.sidecars))
        lines.append(f"( while sleep 5; do\n{checks}  done ) &\n_bg_pids+=($!)")
    return "\n".join(lines)


def client_script(job: Job, workdir: Optional[str], bindir: Optional[str] = None,
                  exit_file: Optional[str] = None, log_folder: Optional[str] = None,
                  port_file: Optional[str] = None, server_log: Optional[str] = None) -> str:
    """The job's commands in order; the first failure ends the job with its exit code.

    ``bindir`` (plain processes on a shared file system) goes first on PATH so that ``python``
    is the launcher's environment, as with the local executor. ``exit_file``: see ``_server_watch``;
    ``port_file``: the port the server step chose (the commands' URLs are rewritten to it)."""
    lines = []
    if bindir:
        lines.append(f'export PATH={shlex.quote(bindir)}:"$PATH"')
    if workdir:
        lines.append(f"cd {shlex.quote(workdir)} || exit 1")
    if job.server is not None or job.sidecars:
        lines.append("_bg_pids=()")
        lines.append("trap '[ ${#_bg_pids[@]} -gt 0 ] && kill ${_bg_pids[@]} 2>/dev/null' EXIT")
        lines.append(_helpers())
    if job.sidecars:
        lines.append(_sidecars(job, log_folder))
    rewrite = False
    if job.server is not None:
        s = job.server
        lines.append(f"_server_log={server_log or '/dev/null'}")
        log = '"$_server_log"'
        if exit_file:
            lines.append(_server_watch(exit_file).rstrip("\n"))
        if port_file and exit_file:  # the server step picks its port when it starts
            lines += [
                f"_server_port={s.port}",
                f"_deadline=$((SECONDS + ${{SKILLS_SERVER_WAIT_S:-{SERVER_WAIT_S}}}))",
                f"until [ -s {port_file} ]; do",
                f'  if [ -f {exit_file} ]; then echo "the server exited with code $(cat {exit_file}) before it '
                f'started; last lines of its log $_server_log:" >&2; tail -n {TAIL} {log} >&2; exit 1; fi',
                "  if [ $SECONDS -ge $_deadline ]; then echo 'the server step never started' >&2; exit 1; fi",
                "  sleep 1",
                "done",
                f"_server_port=$(cat {port_file})",
            ]
            rewrite = True
            url = _with_port_var(s.health_url, s.port, "_server_port")
        else:
            url = shlex.quote(s.health_url)
        lines.append(f"_skills_wait {url} '' {exit_file or chr(39) * 2} {log} 'the {s.server_type} server' "
                     "|| exit 1")
        for r in job.replicas:  # each replica on its planned port
            lines.append(f"_skills_wait {shlex.quote(r.health_url)} '' {exit_file or chr(39) * 2} {log} "
                         f"'the {r.server_type} server (replica {r.replica + 1}/{r.replicas})' || exit 1")
    for cmd in job.commands:
        if rewrite:  # the URLs of the planned port point at the port the server got
            lines.append(f"_cmd={_with_port_var(cmd, job.server.port, '_server_port')}")
            lines.append('bash -c "$_cmd" || exit $?')
        else:
            lines.append(f"(\n{cmd}\n) || exit $?")
    return "\n".join(lines) + "\n"


def server_script_text(job: Job, workdir: Optional[str], exit_file: Optional[str] = None,
                       port_file: Optional[str] = None) -> str:
    """The server step: its own environment (exported here, not for the client), then its command;
    with ``exit_file`` its exit code is recorded there for the client's watch; with ``port_file``
    it takes its port now (the planned one when free) and records it there."""
    lines = []
    if workdir:
        lines.append(f"cd {shlex.quote(workdir)} || exit 1")
    lines += [f"export {k}={shlex.quote(str(v))}" for k, v in job.server.env.items()]
    lines += [f'export {k}="${{{name}}}"' for k, name in job.server.secret_env.items()]  # by name, never by value
    command = job.server.command
    if job.replicas:
        command = _replicas(job)
    if port_file:
        port = job.server.port
        lines += [f"_port=$(python3 -c {shlex.quote(FREE_PORT)} {port})", f"echo $_port > {port_file}"]
        command = _port_pattern(port).sub(lambda m: m.group(1) + "${_port}", command)
    if exit_file:  # with several tasks, any that exits ends the job (a Ray worker gone, a rank crashed)
        several = job.server.nodes * job.server.tasks_per_node > 1
        rm = f'if [ "${{SLURM_PROCID:-0}}" = 0 ]; then rm -f {exit_file}; fi' if several else f"rm -f {exit_file}"
        lines += [rm, f"(\n{command}\n)", "_rc=$?", f"echo $_rc > {exit_file}", "exit $_rc"]
    else:
        lines.append(command)
    return "\n".join(lines) + "\n"


def _replicas(job: Job) -> str:
    """Bash starting every replica of the job's server in the background, replica r with GPUs
    r*g .. (r+1)*g-1 of ``$CUDA_VISIBLE_DEVICES`` (or of 0..K*g-1). It ends when every replica
    has exited (a replica that dies leaves the others serving), with the last one's exit code."""
    lines = ["_visible=${CUDA_VISIBLE_DEVICES:-}", "_rpids=()"]
    for s in job.servers():
        gpus = ""
        if s.gpus > 0:
            first = s.replica * s.gpus
            default = ",".join(str(i) for i in range(s.replicas * s.gpus))
            gpus = (f'IFS=, read -ra _all <<< "${{_visible:-{default}}}"; '
                    f'export CUDA_VISIBLE_DEVICES=$(IFS=,; echo "${{_all[*]:{first}:{s.gpus}}}"); ')
        lines.append(f"( {gpus}echo \"replica {s.replica + 1}/{s.replicas} on port {s.port}\"; {s.command} ) & "
                     "_rpids+=($!)")
    lines.append('_rrc=0; for _p in "${_rpids[@]}"; do wait "$_p"; _rrc=$?; done; exit $_rrc')
    return "\n".join(lines)


def add_job(exp, job: Job, plan: Plan, cluster, tunnel, deps: List[str], mpi: Optional[str],
            workdir: Optional[str], extra_params: Dict) -> str:
    """Add one Job to the nemo-run experiment; returns its task id."""
    mpi_args = [f"--mpi={mpi}"] if mpi else []
    # without a container and without ssh (login node = submit host) the jobs share our file system
    bindir = None if job.container or getattr(cluster, "ssh_tunnel", None) else os.path.dirname(sys.executable)
    exit_file = server_exit_file(job, plan)
    port_file = server_port_file(job, plan)
    server_log = log_paths(job, plan, cluster).get("server")
    if server_log:  # one shell word; %j is the job id
        server_log = '"${SLURM_JOB_ID:-0}"'.join(shlex.quote(part) if part else "" for part in server_log.split("%j"))
    wd = job.workdir or workdir
    script = run.Script(inline=client_script(job, wd, bindir, exit_file, job.log_dir or plan.log_dir,
                                             port_file, server_log))

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
    server_args = ["--overlap", *mpi_args, "--wait=10", f"--ntasks-per-node={s.tasks_per_node}",
                   f"--nodes={s.nodes}", *chdir(s.container)]
    # the client (and its sidecars) on the allocation's first node, where rank 0 serves HTTP
    head = ["--relative=0"] if nodes > 1 else []
    client_args = ["--overlap", *mpi_args, "--wait=10", "--ntasks=1", "--nodes=1", *head, *chdir(job.container)]
    # the first node, found by the batch script (where scontrol is), for the server line of every node
    # (a container image need not have scontrol), as the reference does
    master = {"SLURM_MASTER_NODE": MASTER_NODE} if s.nodes > 1 else None
    server_ex = _executor(job, plan, cluster, tunnel, role="server", nodes=nodes, tasks=s.tasks_per_node,
                          container=s.container, env=job.env, srun_args=server_args,
                          extra_params=extra_params, shell_env=master)
    client_ex = _executor(job, plan, cluster, tunnel, role="main", nodes=nodes, tasks=1,
                          container=job.container, env=job.env, srun_args=client_args,
                          extra_params=extra_params, shell_env=master)
    server_script = run.Script(inline=server_script_text(job, wd, exit_file, port_file))
    return exp.add([server_script, script], executor=[server_ex, client_ex], name=job.name,
                   dependencies=deps or None)
