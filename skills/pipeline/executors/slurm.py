"""Slurm executor: submit a ``Plan`` through nemo-run (``SlurmExecutor`` + Local/SSH tunnel).

API (see docs/slurm.md):
- ``run_plan(plan, cluster, wait=False) -> int``: submit every job (one sbatch each, real Slurm
  dependencies), print the experiment, Slurm ids and log paths; ``wait=True`` blocks until all
  jobs end and returns 1 if any failed.
- ``dry_run_scripts(plan, cluster) -> {job name: sbatch text}`` and ``render_dry_run`` (scripts +
  dependency graph) for ``--dry_run``: no Slurm command is run.
- ``status(expname_or_dir, cluster=None) -> [JobStatus(job, state, reason, log_path)]``.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, TextIO

from skills.config.errors import UsageError
from skills.pipeline.plan import Job, Plan

RECORDS = "skills_jobs.json"  # written into the nemo-run experiment dir after submission


class JobStatus(NamedTuple):
    job: str
    state: str  # pending | running | done | failed | cancelled | unknown
    reason: str
    log_path: str


# ----------------------------------------------------------------------------- helpers
def nemorun_home(cluster=None) -> str:
    """Where nemo-run keeps experiments: the cluster's ``job_dir`` (on the login node), else
    ``$NEMORUN_HOME``, else ``~/.nemo_run``."""
    if cluster is not None and getattr(cluster, "ssh_tunnel", None) is None and getattr(cluster, "job_dir", None):
        return os.path.expanduser(os.path.expandvars(cluster.job_dir))
    return os.path.expanduser(os.environ.get("NEMORUN_HOME", "~/.nemo_run"))


def _ordered(plan: Plan) -> List[Job]:
    """Jobs in dependency order (nemo-run needs dependencies added first); unknown names are errors."""
    names = {j.name for j in plan.jobs}
    if len(names) != len(plan.jobs):
        raise UsageError(f"plan '{plan.expname}' has duplicate job names")
    done: List[Job] = []
    seen: set = set()
    pending = list(plan.jobs)
    while pending:
        ready = [j for j in pending if all(d in seen for d in j.dependencies)]
        if not ready:
            bad = {d for j in pending for d in j.dependencies if d not in names}
            raise UsageError(f"plan '{plan.expname}': unknown dependencies {sorted(bad)}" if bad
                             else f"plan '{plan.expname}': dependency cycle among {[j.name for j in pending]}")
        for j in ready:
            done.append(j)
            seen.add(j.name)
            pending.remove(j)
    return done


def _secret_names(plan: Plan) -> List[str]:
    return sorted({n for j in plan.jobs for n in j.secret_env} | set(plan.required_env))


def _check_secrets(plan: Plan, stream: TextIO) -> None:
    missing = [n for n in plan.required_env if n not in os.environ]
    if missing:
        raise UsageError(f"set the environment variable(s) {', '.join(missing)} before submitting "
                         f"(they are passed to the jobs by name, never written to files)")
    optional = [n for n in _secret_names(plan) if n not in os.environ]
    if optional:
        print(f"warning: {', '.join(optional)} not set; the jobs will not see them", file=stream)


def _has_source(module) -> bool:
    try:
        inspect.getsource(module)
        return True
    except (OSError, TypeError):
        return False


@contextlib.contextmanager
def _no_stdin():
    """Guards around nemo-run: invoke forwards OUR stdin to local commands (give it none), and
    nemo-run copies ``__main__``'s source, failing when there is none (``python -c``, stdin)."""
    saved, main = sys.stdin, sys.modules.get("__main__")
    hide_main = main is not None and not _has_source(main)
    with open(os.devnull) as devnull:
        sys.stdin = devnull
        if hide_main:
            del sys.modules["__main__"]
        try:
            yield
        finally:
            sys.stdin = saved
            if hide_main:
                sys.modules["__main__"] = main


def _run_cmd(tunnel):
    def call(cmd: str):
        res = tunnel.run(cmd, hide=True, warn=True)
        return res.return_code, res.stdout
    return call


def _run_after_ids(titles: List[str], home: str, tunnel, stream: TextIO) -> List[str]:
    """Slurm ids of the still-queued/running jobs of the latest experiment with each title."""
    from skills.pipeline.slurm import state

    ids: List[str] = []
    for title in titles:
        rec = _find_records(title, home)
        if rec is None:
            raise UsageError(f"--run_after: no experiment '{title}' under {home}/experiments")
        ids += [j["slurm_id"] for j in rec["jobs"] if j.get("slurm_id")]
    alive = [i for i, s in state.query(ids, _run_cmd(tunnel)).items() if s.state in ("pending", "running")]
    if ids and not alive:
        print(f"warning: --run_after {','.join(titles)}: no queued or running jobs to wait for", file=stream)
    return alive


def _build_experiment(exp, plan: Plan, cluster, tunnel, run_after: List[str], workdir: Optional[str]):
    from skills.pipeline.slurm.build import add_job

    ids: Dict[str, str] = {}
    mpi = getattr(cluster, "mpi", None)
    for job in _ordered(plan):
        extra = {"dependency": "afterany:" + ":".join(run_after)} if run_after and not job.dependencies else {}
        ids[job.name] = add_job(exp, job, plan, cluster, tunnel, [ids[d] for d in job.dependencies],
                                mpi, workdir, extra)
    return ids


# ----------------------------------------------------------------------------- dry run
def dry_run_scripts(plan: Plan, cluster) -> Dict[str, str]:
    """{job name: sbatch script} exactly as nemo-run would write them; nothing is submitted."""
    import nemo_run as run

    from skills.pipeline.slurm.tunnel import NoStdinLocalTunnel

    tmp = tempfile.mkdtemp(prefix="skills-dryrun-")
    ssh = getattr(cluster, "ssh_tunnel", None)
    shown_home = ssh.job_dir if ssh else os.path.join(nemorun_home(cluster), "experiments")
    try:
        tunnel = NoStdinLocalTunnel(job_dir=os.path.join(tmp, "experiments"))
        with _no_stdin(), run.Experiment(plan.expname, base_dir=tmp, log_level="ERROR",
                                         enable_goodbye_message=False, skip_status_at_exit=True) as exp:
            ids = _build_experiment(exp, plan, cluster, tunnel, [], None if ssh else os.getcwd())
            exp.dryrun(log=False, delete_exp_dir=False)
            exp_dir = exp._exp_dir
        out = {}
        for name, task_id in ids.items():
            text = Path(exp_dir, f"{task_id}_sbatch.sh").read_text().rstrip() + "\n"
            for script in sorted(Path(exp_dir, task_id, "scripts").glob("*.sh")):
                text += f"\n# ----- {script} (run by srun above) -----\n{script.read_text().rstrip()}\n"
            out[name] = text.replace(os.path.join(tmp, "experiments"), shown_home)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def dependency_graph(plan: Plan) -> str:
    lines = []
    for job in _ordered(plan):
        kind = "afterany" if job.chain_index > 0 else "afterok"
        after = f"{kind}: {', '.join(job.dependencies)}" if job.dependencies else "-"
        if plan.run_after and not job.dependencies:
            after = f"afterany: experiments {', '.join(plan.run_after)}"
        lines.append(f"  {job.name}  <-  {after}")
    return "\n".join(lines)


def render_dry_run(plan: Plan, cluster) -> str:
    """Text for ``--dry_run``: the dependency graph, then every sbatch script."""
    parts = [f"Slurm dry run of '{plan.expname}' ({len(plan.jobs)} sbatch job(s)); dependencies "
             f"(kill-on-invalid-dep=yes):", dependency_graph(plan)]
    for name, text in dry_run_scripts(plan, cluster).items():
        parts += ["", f"===== {name} =====", text.rstrip()]
    return "\n".join(parts) + "\n"


# ----------------------------------------------------------------------------- submit
def run_plan(plan: Plan, cluster, wait: bool = False, poll_s: float = 10.0,
             stream: Optional[TextIO] = None, on_start=None) -> int:
    """Submit the plan; 0 once submitted (``wait=True``: once all jobs ended well, else 1)."""
    stream = stream or sys.stdout
    if not plan.jobs:
        print(f"Nothing to submit for '{plan.expname}'.", file=stream)
        return 0
    _check_secrets(plan, stream)
    import nemo_run as run
    from nemo_run.config import set_nemorun_home

    from skills.pipeline.slurm.build import log_paths
    from skills.pipeline.slurm.tunnel import make_tunnel

    home = nemorun_home(cluster)
    set_nemorun_home(home)
    ssh = getattr(cluster, "ssh_tunnel", None) is not None
    ctl = make_tunnel(cluster)  # for mkdir/squeue; each executor gets its own copy of `template`
    template = make_tunnel(cluster, _secret_names(plan))
    if not ssh:
        template.job_dir = os.path.join(home, "experiments")
    log_dirs = sorted({d for d in [plan.log_dir, *(j.log_dir for j in plan.jobs)] if d})
    if ssh and log_dirs:
        ctl.run("mkdir -p " + " ".join(shlex.quote(d) for d in log_dirs), hide=True)
    for d in log_dirs if not ssh else []:
        os.makedirs(d, exist_ok=True)
    run_after = _run_after_ids(plan.run_after, home, ctl, stream) if plan.run_after else []
    with _no_stdin(), run.Experiment(plan.expname, base_dir=home, log_level="WARN", enable_goodbye_message=False,
                                     skip_status_at_exit=True,
                                     threadpool_workers=getattr(cluster, "num_workers", 4)) as exp:
        ids = _build_experiment(exp, plan, cluster, template, run_after, None if ssh else os.getcwd())
        exp.run(detach=True)
        by_id = {j.id: j for j in exp.jobs}
        exp_dir = exp._exp_dir
    if on_start is not None:  # submitted: the run exists
        on_start()
    records = {"expname": plan.expname, "exp_dir": exp_dir, "tunnel": "ssh" if ssh else "local",
               "jobs": []}
    for job in plan.jobs:
        handle = getattr(by_id[ids[job.name]], "handle", "") or ""
        handles = getattr(by_id[ids[job.name]], "handles", None) or [handle]
        slurm_id = next((h.split("://", 1)[1].split("/")[1] for h in handles if h and "://" in h), "")
        task_dir = os.path.join(home if not ssh else cluster.ssh_tunnel.job_dir, "experiments" if not ssh else "",
                                plan.expname, Path(exp_dir).name, ids[job.name])
        logs = {k: v.replace("%j", slurm_id) for k, v in log_paths(job, plan, cluster, task_dir).items()}
        records["jobs"].append({"name": job.name, "kind": job.kind, "slurm_id": slurm_id, "logs": logs,
                                "dependencies": job.dependencies, "chain_index": job.chain_index})
    Path(exp_dir, RECORDS).write_text(json.dumps(records, indent=2))
    _print_submission(records, stream)
    return wait_for(exp_dir, cluster, poll_s=poll_s, stream=stream) if wait else 0


def _print_submission(records: dict, stream: TextIO) -> None:
    print(f"Submitted experiment '{records['expname']}' ({len(records['jobs'])} job(s)); "
          f"metadata in {records['exp_dir']}", file=stream)
    for j in records["jobs"]:
        after = f" after {', '.join(j['dependencies'])}" if j["dependencies"] else ""
        print(f"  {j['name']}: slurm job {j['slurm_id'] or '?'}{after}", file=stream)
        for role, path in j["logs"].items():
            print(f"      {role} log: {path}", file=stream)
    print(f"Follow it with: ns status {records['expname']}   (or squeue / sacct)", file=stream)


# ----------------------------------------------------------------------------- status
def _find_records(expname_or_dir: str, home: str) -> Optional[dict]:
    p = Path(expname_or_dir)
    if (p / RECORDS).is_file():
        return json.loads((p / RECORDS).read_text())
    parent = Path(home, "experiments", expname_or_dir)
    dirs = sorted((d for d in parent.glob("*") if (d / RECORDS).is_file()), key=lambda d: d.name) \
        if parent.is_dir() else []
    return json.loads((dirs[-1] / RECORDS).read_text()) if dirs else None


def _tunnel_for(records: dict, cluster):
    from skills.pipeline.slurm.tunnel import NoStdinLocalTunnel, make_tunnel

    if records.get("tunnel") == "ssh":
        if cluster is None or getattr(cluster, "ssh_tunnel", None) is None:
            raise UsageError(f"experiment '{records['expname']}' ran over SSH: pass its --cluster")
        return make_tunnel(cluster)
    return NoStdinLocalTunnel(job_dir="")


def status(expname_or_dir: str, cluster=None) -> List[JobStatus]:
    """State of every job of the latest experiment with that name (or of that experiment dir)."""
    from skills.pipeline.slurm import state

    records = _find_records(expname_or_dir, nemorun_home(cluster))
    if records is None:
        raise UsageError(f"no submitted experiment '{expname_or_dir}' under {nemorun_home(cluster)}/experiments")
    states = state.query([j["slurm_id"] for j in records["jobs"]], _run_cmd(_tunnel_for(records, cluster)))
    successor = {d: j["name"] for j in records["jobs"] if j.get("chain_index", 0) > 0 for d in j["dependencies"]}
    rows = []
    for j in records["jobs"]:
        s = states.get(j["slurm_id"]) or state.SlurmState("unknown", "", "no Slurm id")
        reason = s.reason
        if s.state == "failed" and j["name"] in successor:
            reason += f"; resumed by {successor[j['name']]}"
        log = j["logs"].get("main") or j["logs"].get("sbatch") or ""
        rows.append(JobStatus(j["name"], s.state, reason, log))
    return rows


def failed_jobs(rows: List[JobStatus]) -> List[JobStatus]:
    """Failures that count: a chain copy resumed by the next copy does not (the last copy does)."""
    return [r for r in rows if r.state in ("failed", "cancelled") and "; resumed by " not in r.reason]


def format_status(rows: List[JobStatus]) -> str:
    width = max([len(r.job) for r in rows] + [3])
    lines = [f"{'job':<{width}}  {'state':<9}  reason / log"]
    for r in rows:
        tail = " | ".join(x for x in (r.reason, r.log_path) if x)
        lines.append(f"{r.job:<{width}}  {r.state:<9}  {tail}")
    return "\n".join(lines)


def _finished(r: JobStatus) -> bool:
    return r.state in ("done", "failed", "cancelled") or r.reason.startswith("DependencyNeverSatisfied")


def wait_for(expname_or_dir: str, cluster=None, poll_s: float = 10.0, timeout_s: Optional[float] = None,
             stream: Optional[TextIO] = None) -> int:
    """Block until every job ended (or can never start); 0 if all succeeded, else 1."""
    stream = stream or sys.stdout
    start = time.monotonic()
    while True:
        rows = status(expname_or_dir, cluster)
        if all(_finished(r) for r in rows):
            break
        if timeout_s is not None and time.monotonic() - start > timeout_s:
            print(f"still running after {timeout_s:g} s:\n{format_status(rows)}", file=stream)
            return 1
        time.sleep(poll_s)
    print(format_status(rows), file=stream)
    return 1 if failed_jobs(rows) else 0
