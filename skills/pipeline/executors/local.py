"""Run a Plan on this machine: jobs in dependency order, each with its own server if it has one.

Unlike the reference (whose local runs exit 0 even when tasks failed), a failed job marks its
dependents as skipped, the others still run, and the exit code is non-zero with a summary naming
the failed jobs and their logs. ``<log_dir>/status.json`` is kept up to date for ``ns status``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional

from skills.config.secrets import redact
from skills.inference.progress import ONCE_DIR, PROGRESS_ENV, run_label
from skills.pipeline.executors.display import Display
from skills.servers.guard import guarded
from skills.pipeline.plan import Job, Plan
from skills.pipeline.state import STATE_FILE, register_run

SERVER_TIMEOUT_ENV = "SKILLS_SERVER_TIMEOUT"
RUN_LOCK = ".run.lock"  # held by the live ns process of a run (ns status tells dead runs by it)


def topo_order(plan: Plan) -> List[Job]:
    """Plan order, except that a job always comes after its dependencies."""
    names = {j.name for j in plan.jobs}
    done: List[Job] = []
    seen: set = set()
    pending = list(plan.jobs)
    while pending:
        progressed = False
        for job in list(pending):
            if all(d in seen or d not in names for d in job.dependencies):
                done.append(job)
                seen.add(job.name)
                pending.remove(job)
                progressed = True
                break
        if not progressed:
            raise RuntimeError(f"dependency cycle among {[j.name for j in pending]}")
    return done


class StatusFile:
    """``status.json``: job -> state and log paths, rewritten atomically on every change."""

    def __init__(self, plan: Plan, log_dir: Path):
        self.path = log_dir / STATE_FILE
        self.warned = False
        self.data: Dict[str, Any] = {
            "expname": plan.expname, "executor": plan.executor, "output_dir": plan.output_dir,
            "jobs": {j.name: {"state": "pending", "log": str(_log_path(j, log_dir)),
                              "server_log": str(_log_path(j, log_dir, "-server")) if j.server else None,
                              "sidecar_logs": {s.name: str(_log_path(j, log_dir, f"-{s.name}")) for s in j.sidecars},
                              "dependencies": j.dependencies} for j in plan.jobs},
        }
        self.write()

    def set(self, job: str, state: str, **extra: Any) -> None:
        self.data["jobs"][job].update(state=state, **extra)
        self.write()

    def state(self, job: str) -> str:
        return self.data["jobs"].get(job, {}).get("state", "done")

    def write(self) -> None:
        """Best effort: a full disk must not crash the run (nor leave a temp file behind)."""
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.data, indent=2))
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if not self.warned:
                self.warned = True
                sys.stderr.write(f"warning: cannot update {self.path}: {exc.strerror or exc}\n")


def _log_path(job: Job, default_dir: Path, suffix: str = "") -> Path:
    return Path(job.log_dir or default_dir) / f"{job.name}{suffix}.log"


def job_environment(job: Job, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The launcher's environment (secrets pass by name), this interpreter's bin first on PATH."""
    env = dict(os.environ)
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(job.env)
    env.update(extra or {})
    return env


def _stream(proc: subprocess.Popen, log: IO[str], prefix: str, out: IO[str]) -> int:
    assert proc.stdout is not None
    for line in proc.stdout:
        line = redact(line)
        log.write(line)
        log.flush()
        out.write(f"{prefix}{line}")
        out.flush()
    return proc.wait()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


BIND_TRIES = 3  # a service that fails to bind its port is moved to another one this many times


def _start_service(job: Job, name: str, log_path: Path, out: IO[str], prefix: str, timeout_s: float,
                   start, first: Optional[Any] = None) -> tuple:
    """Start a server or sidecar (``start(job)`` -> process, healthy URL) and wait until it is healthy;
    a failure to bind its port moves it to another port and starts it again.
    Returns (process or None, error or None); the process is returned even when it failed."""
    from skills.pipeline.executors.ports import bind_failed, move_port
    from skills.servers.health import ServerStartError, wait_for_server
    from skills.servers.launch import stop_server

    for attempt in range(BIND_TRIES):
        proc, url, port = first if (attempt == 0 and first is not None) else start(job)
        try:
            wait_for_server(url, timeout_s, proc, log_path)
            return proc, None
        except ServerStartError as exc:
            if proc.poll() is None or attempt == BIND_TRIES - 1 or not bind_failed(log_path):
                return proc, str(exc)
            stop_server(proc, grace_s=5.0)
            new = move_port(job, port)
            out.write(f"{prefix}{name} could not bind port {port}; trying port {new}\n")
    return None, f"{name} could not bind a port"  # pragma: no cover


def run_job(job: Job, log_dir: Path, out: IO[str], server_timeout_s: float,
            env: Optional[Dict[str, str]] = None) -> Optional[str]:
    """Run one job; returns None on success, else a one-line reason.

    Ports are settled now (``ports.settle_ports``): a planned port another process took meanwhile
    is replaced, in a copy of the job (the plan stays as printed). Every service (server,
    sidecars) is watched: one that exits ends the job at once with the last lines of its log."""
    import copy

    from skills.pipeline.executors.ports import settle_ports
    from skills.servers.launch import start_server, stop_server

    job = copy.deepcopy(job)
    log_path = _log_path(job, log_dir)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    server_procs: List[Any] = []
    watch = _ServiceWatch()
    sidecars: List[Any] = []
    prefix = f"[{job.name}] "
    try:
        for old, new in settle_ports(job):
            out.write(f"{prefix}port {old} planned for a service is taken now; using port {new}\n")
        for i, sc in enumerate(job.sidecars):  # services the commands use (code sandbox, ...): healthy first
            sc_log = _log_path(job, log_dir, f"-{sc.name}")

            def start_sidecar(j: Job, i=i, sc_log=sc_log):
                spec = j.sidecars[i]
                out.write(f"{prefix}starting sidecar {spec.name} on port {spec.port} (log {sc_log})\n")
                return (start_server(spec.command, sc_log, env=job_environment(j, spec.env), cwd=j.workdir),
                        spec.health_url, spec.port)

            proc, error = _start_service(job, f"sidecar {sc.name}", sc_log, out, prefix, server_timeout_s,
                                         start_sidecar)
            if proc is not None:
                sidecars.append(proc)
            if error:
                return f"sidecar {sc.name}: {error}"
            watch.add(f"sidecar {sc.name}", proc, sc_log)
        servers = job.servers()

        def boot(r: int) -> tuple:  # --server_replicas: each its own process, port and GPUs, side by side
            server_log = _log_path(job, log_dir, "-server" + (f"-r{r + 1}" if r else ""))
            what = f"{servers[r].server_type} server" + (f" (replica {r + 1}/{len(servers)})"
                                                         if len(servers) > 1 else "")

            def start_model_server(j: Job):
                spec = j.servers()[r]
                out.write(f"{prefix}starting {what} on port {spec.port} (log {server_log})\n")
                gpus = spec.gpu_slice(os.environ.get("CUDA_VISIBLE_DEVICES"))
                extra = {**spec.env, **({"CUDA_VISIBLE_DEVICES": gpus} if gpus is not None else {})}
                return start_server(spec, server_log, env=job_environment(j, extra)), spec.health_url, spec.port

            return what, server_log, start_model_server

        plans = [boot(r) for r in range(len(servers))]
        first: List[Any] = [None] * len(servers)
        if len(servers) > 1:  # replicas boot side by side: all started here (a child started from a
            # thread would die with that thread, see guard.py), their health awaited together
            from concurrent.futures import ThreadPoolExecutor

            from skills.servers.health import ServerStartError, wait_for_server

            first = [start(job) for _, _, start in plans]
            server_procs.extend(proc for proc, _, _ in first)

            def healthy(r: int) -> Optional[str]:
                proc, url, _ = first[r]
                try:
                    wait_for_server(url, server_timeout_s, proc, plans[r][1])
                    return None
                except ServerStartError as exc:
                    return str(exc)

            with ThreadPoolExecutor(len(servers)) as pool:
                problems = list(pool.map(healthy, range(len(servers))))
            stuck = [p for r, p in enumerate(problems) if p and first[r][0].poll() is None]
            if stuck:  # running but never healthy: no second wait
                return stuck[0]
        booted = []
        for r, (what, server_log, start) in enumerate(plans):  # one that exited: as a single server
            proc, error = _start_service(job, f"the {what}", server_log, out, prefix, server_timeout_s, start,
                                         first[r])  # (a failure to bind moves it to another port)
            booted.append((what, server_log, proc, error))
            if error:
                break
        server_procs.extend(proc for _, _, proc, _ in booted if proc is not None and proc not in server_procs)
        errors = [error for *_, error in booted if error]
        if errors:
            return errors[0]
        for r, (what, server_log, proc, _) in enumerate(booted):
            out.write(f"{prefix}server healthy at {job.servers()[r].health_url}\n")
            watch.add(what, proc, server_log, group="servers" if len(servers) > 1 else None,
                      group_size=len(servers), out=out, prefix=prefix)
        with open(log_path, "a") as log:
            for cmd in job.commands:
                if watch.died is not None:
                    break
                log.write(f"+ {redact(cmd)}\n")
                log.flush()
                proc = subprocess.Popen(  # its own group, which dies with us (see guard.py)
                    guarded(["bash", "-c", cmd]), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                    errors="replace", stdin=subprocess.DEVNULL, env=job_environment(job, env),
                    cwd=job.workdir, start_new_session=True,
                )
                watch.command = proc
                threading.Thread(target=_end_orphans, args=(proc,), daemon=True).start()
                try:
                    rc = _stream(proc, log, prefix, out)
                except BaseException:
                    _kill_group(proc)
                    raise
                if watch.died is not None:
                    break
                if rc != 0:
                    return f"command exited with code {rc}{_last_error(log_path)}"
        watch.stopping = True
        if watch.died is not None:
            from skills.servers.health import log_tail

            name, code, service_log = watch.died
            return (f"the {name} exited with code {code} while the job ran; its log ({service_log}) ends "
                    f"with:\n{log_tail(service_log)}")
        return None
    finally:
        watch.stopping = True
        for proc in server_procs:
            stop_server(proc)
        for proc in sidecars:
            stop_server(proc, grace_s=5.0)


def _end_orphans(guard: subprocess.Popen, grace_s: float = 5.0) -> None:
    """A guard killed by a signal (``kill -9``) cannot stop its group: what is left of the group
    (the command's children, e.g. a generation) is stopped here, so it does not run on unseen."""
    while guard.poll() is None:
        time.sleep(0.5)
    if guard.returncode >= 0:
        return  # the guard ended normally and stopped its group itself
    deadline = time.monotonic() + grace_s
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(guard.pid, sig)  # the group id stays reserved while any member lives
        except ProcessLookupError:
            return
        while time.monotonic() < deadline:
            try:
                os.killpg(guard.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def _last_error(log_path: Path) -> str:
    """``: <last error line>`` of a job log (what the user wants to see first), or ""."""
    try:
        with open(log_path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    errors = [ln.strip() for ln in lines if ln.strip().lower().startswith(("error", "usageerror"))]
    return f": {errors[-1][:300]}" if errors else ""


class _ServiceWatch:
    """Ends the running command when a service of the job (server, sidecar) exits, instead of
    letting the command wait for it; ``died`` = (name, exit code, log)."""

    def __init__(self):
        self.command: Optional[subprocess.Popen] = None
        self.died: Optional[tuple] = None
        self.stopping = False
        self.gone: Dict[str, int] = {}  # group -> members that exited

    def add(self, name: str, proc: subprocess.Popen, log_path: Path, group: Optional[str] = None,
            group_size: int = 1, out: Optional[IO[str]] = None, prefix: str = "") -> None:
        """Watch a service; the members of a ``group`` (server replicas) end the job only when the
        last of them exits: the client retries the rows of a replica that died on the others."""
        threading.Thread(target=self._watch, args=(name, proc, log_path, group, group_size, out, prefix),
                         daemon=True).start()

    def _watch(self, name: str, proc: subprocess.Popen, log_path: Path, group: Optional[str] = None,
               group_size: int = 1, out: Optional[IO[str]] = None, prefix: str = "") -> None:
        rc = proc.wait()
        if self.stopping or self.died is not None:
            return
        if group is not None:
            self.gone[group] = self.gone.get(group, 0) + 1
            if self.gone[group] < group_size:
                if out is not None:
                    out.write(f"{prefix}the {name} exited with code {rc} (log {log_path}); the other replicas "
                              "go on\n")
                return
        self.died = (name, rc, log_path)
        if self.command is not None and self.command.poll() is None:
            _kill_group(self.command)


def run_plan(plan: Plan, cluster: Any = None, out: Optional[IO[str]] = None,
             server_timeout_s: Optional[float] = None, on_start: Optional[Callable[[], None]] = None) -> int:
    """Run every job; 0 if all succeeded, 1 if any failed or was skipped, 130 on Ctrl-C."""
    out = out or sys.stdout
    timeout = server_timeout_s or float(os.environ.get(SERVER_TIMEOUT_ENV, "3600"))
    if plan.log_dir:
        log_dir = Path(plan.log_dir)
    else:
        from skills.pipeline.state import state_dir

        log_dir = state_dir() / plan.expname
    from skills.data.lock import OwnerLock

    lock = OwnerLock(log_dir / RUN_LOCK).acquire(f"run folder {log_dir}")  # one live run per folder
    try:
        if on_start is not None:
            on_start()
        return _run_jobs(plan, log_dir, out, timeout)
    finally:
        lock.release()


class _DisplayWriter:
    """``out`` for the job loop: every line goes through the one display of the command."""

    def __init__(self, display: Display):
        self.display = display

    def write(self, text: str) -> None:
        self.display.print(text)

    def flush(self) -> None:
        pass


def _run_jobs(plan: Plan, log_dir: Path, out: IO[str], timeout: float) -> int:
    progress = log_dir / "progress"
    for old in progress.glob("*.json"):
        old.unlink(missing_ok=True)
    shutil.rmtree(progress / ONCE_DIR, ignore_errors=True)  # "said once" claims of the previous command
    from skills.pipeline.estimate import planned_rows

    with Display(progress, out, planned_runs(plan), f"each seed: ns status {plan.expname} --progress",
                 planned_rows(plan)) as display:
        return _run_in_order(plan, log_dir, _DisplayWriter(display), timeout, {PROGRESS_ENV: str(progress)})


def planned_runs(plan: Plan) -> List[str]:
    """Progress labels of the plan's generation and judge runs (from their outputs' .done markers),
    so the display, and its ETA for the whole plan, count runs that have not started yet."""
    return [run_label(Path(m[: -len(".done")]), "judgement" if j.kind == "judge" else "generation")
            for j in plan.jobs if j.kind in ("generation", "judge") for m in j.done_markers if m.endswith(".done")]


def _run_in_order(plan: Plan, log_dir: Path, out: Any, timeout: float, env: Dict[str, str]) -> int:
    status = StatusFile(plan, log_dir)
    register_run(plan.expname, status.path)
    failed: Dict[str, str] = {}
    for job in topo_order(plan):
        bad = [d for d in job.dependencies if status.state(d) in ("failed", "skipped")]
        if bad:
            status.set(job.name, "skipped", reason=f"dependency {bad[0]} did not succeed")
            out.write(f"[{job.name}] skipped: dependency {bad[0]} did not succeed\n")
            continue
        status.set(job.name, "running", started=time.time())
        out.write(f"[{job.name}] running ({job.kind}); log {_log_path(job, log_dir)}\n")
        out.flush()
        try:
            reason = run_job(job, log_dir, out, timeout, env)
        except KeyboardInterrupt:
            status.set(job.name, "failed", reason="interrupted")
            out.write("Interrupted.\n")
            return 130
        if reason is None:
            status.set(job.name, "done", finished=time.time())
        else:
            failed[job.name] = reason
            status.set(job.name, "failed", reason=reason, finished=time.time())
            out.write(f"[{job.name}] FAILED: {reason}\n")
    states = [status.state(j.name) for j in plan.jobs]
    out.write(f"\n{len(plan.jobs)} job(s): {states.count('done')} done, {states.count('failed')} failed, "
              f"{states.count('skipped')} skipped (status: {status.path})\n")
    for name, reason in failed.items():
        out.write(f"  FAILED {name}: {reason.splitlines()[0]}\n    log: {status.data['jobs'][name]['log']}\n")
        if status.data["jobs"][name].get("server_log"):
            out.write(f"    server log: {status.data['jobs'][name]['server_log']}\n")
    out.flush()
    return 0 if not failed and "skipped" not in states else 1
