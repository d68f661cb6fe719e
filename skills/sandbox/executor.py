"""Run untrusted programs: one fresh process and work dir per execution, limits, capped output.

``Sandbox`` is thread-safe: graders call ``execute`` from many threads at once. At most ``workers``
executions run at a time (default: the usable cores), so wall-time limits are not eaten by
queueing behind each other; a caller beyond that waits for a free slot before its clock starts.
"""

from __future__ import annotations

import os
import queue
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from skills.config.errors import UsageError
from skills.sandbox import procs
from skills.sandbox.launcher import Isolation, build_argv, build_env, check_env, preexec_limits
from skills.sandbox.mirror import writable_by_others
from skills.sandbox.probe import detect
from skills.sandbox.types import ExecResult, Limits
from skills.sandbox.uids import claim_uid
from skills.sandbox.workdir import WorkDir, reap_stale, remove_files_of

Files = Mapping[str, Union[str, bytes]]
MAIN_FILE = "main.py"
PYTHON_ENV = "SKILLS_SANDBOX_PYTHON"  # interpreter for untrusted code (default: this one)
WORKERS_ENV = "SKILLS_SANDBOX_WORKERS"
READ_ONLY_ROOTS_ENV = "SKILLS_SANDBOX_READ_ONLY_ROOTS"  # service: folders requests may read (read_only)
MAX_WORKERS = 1024
EXIT_GRACE_S = 0.2  # after the program exits, how long leftovers may hold its output pipes
READ_CHUNK = 1 << 16


def default_python() -> str:
    """Interpreter untrusted code runs with: ``$SKILLS_SANDBOX_PYTHON``, else the ``sandbox``
    environment (``$SKILLS_PYTHON_SANDBOX`` or the repository's ``.venv-sandbox``, where the packages
    programs may import live), else this interpreter."""
    from skills.config.interpreters import environment_python

    return os.environ.get(PYTHON_ENV) or environment_python("sandbox") or sys.executable


def default_workers() -> int:
    value = os.environ.get(WORKERS_ENV)
    if value:
        if not value.isdigit() or int(value) < 1:
            raise UsageError(f"{WORKERS_ENV}={value!r}: expected a positive integer")
        return min(int(value), MAX_WORKERS)
    return max(1, len(os.sched_getaffinity(0)))


def _file_paths(files: Files) -> Dict[str, str]:
    """Each file's normalized path inside the work dir; UsageError for anything that could leave
    it, collide or not be written."""
    out: Dict[str, str] = {}
    folders: set = set()
    taken: set = set()
    for name in files:
        if not isinstance(name, str) or not name or "\0" in name:
            raise UsageError(f"sandbox file names must be non-empty text without NUL characters: {name!r}")
        rel = os.path.normpath(name)
        if os.path.isabs(name) or rel == "." or rel.split(os.sep)[0] == "..":
            raise UsageError(f"sandbox file name must be relative and inside the work dir: {name!r}")
        parents = {os.sep.join(rel.split(os.sep)[:i]) for i in range(1, rel.count(os.sep) + 1)}
        if rel in folders or rel in taken or parents & taken:
            raise UsageError(f"sandbox file {name!r} collides with another file's path")
        folders |= parents
        taken.add(rel)
        out[name] = rel
    return out


def _write_files(workdir: str, files: Files) -> None:
    for name, rel in _file_paths(files).items():
        content = files[name]
        if not isinstance(content, (str, bytes)):
            raise UsageError(f"sandbox file {name!r}: content must be text or bytes")
        path = os.path.join(workdir, rel)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "xb") as f:  # a fresh work dir: nothing there to follow or overwrite
                f.write(content.encode() if isinstance(content, str) else content)
        except OSError as exc:
            raise UsageError(f"sandbox file {name!r} cannot be written: {exc.strerror or exc}") from None


def check_args(args: Sequence[str]) -> List[str]:
    if isinstance(args, str) or not all(isinstance(a, str) and "\0" not in a for a in args):
        raise UsageError("sandbox args must be a list of strings without NUL characters")
    return list(args)


def check_read_only(paths: Sequence[str]) -> List[str]:
    """Normalized absolute paths of existing host files or folders (for ``execute(read_only=...)``)."""
    if isinstance(paths, str):
        raise UsageError("sandbox read_only must be a list of paths, not one string")
    out = []
    for path in paths:
        if not isinstance(path, str) or "\0" in path or not os.path.isabs(path):
            raise UsageError(f"sandbox read_only paths must be absolute: {path!r}")
        if not os.path.exists(path):
            raise UsageError(f"sandbox read_only path does not exist: {path}")
        out.append(os.path.normpath(path))
    return out


def _chown_tree(workdir: str, uid: int) -> None:
    os.chown(workdir, uid, uid)
    for folder, dirs, names in os.walk(workdir):
        for name in dirs + names:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


class Sandbox:
    """Executes untrusted code with ``python`` (default ``$SKILLS_SANDBOX_PYTHON`` or this
    interpreter) under the strongest isolation ``probe.detect`` finds here."""

    def __init__(self, python: Optional[str] = None, workers: Optional[int] = None,
                 isolation: Optional[str] = None):
        self._python = python
        self.workers = min(workers or default_workers(), MAX_WORKERS)
        self.mode = isolation  # None: $SKILLS_SANDBOX_ISOLATION, else auto
        self._slots: "queue.SimpleQueue[int]" = queue.SimpleQueue()
        for slot in range(self.workers):
            self._slots.put(slot)
        self._uids: Dict[int, Tuple[int, int]] = {}  # slot -> (throwaway uid, its lock fd), as root
        self._live: Dict[int, Tuple[subprocess.Popen, Optional[int]]] = {}
        self._lock = threading.Lock()
        self._closed = False
        reap_stale()

    def isolation(self, python: Optional[str] = None) -> Isolation:
        return detect(python or self.python, self.mode)

    @property
    def python(self) -> str:
        """The interpreter given, else the default one as the environment says now."""
        return self._python or default_python()

    def execute(self, code: str, *, stdin: Union[str, bytes, None] = None, files: Optional[Files] = None,
                limits: Optional[Limits] = None, args: Sequence[str] = (),
                env: Optional[Mapping[str, str]] = None, python: Optional[str] = None,
                read_only: Sequence[str] = ()) -> ExecResult:
        """Run ``code`` as ``main.py`` in a fresh work dir holding ``files``.

        ``read_only``: host files or folders the program may read at the same absolute path, even
        where the sandbox hides the host (``$HOME``, ``/tmp``): large data such as test targets,
        which ``files`` would copy for every execution.
        """
        if files and MAIN_FILE in _file_paths(files).values():
            raise UsageError(f"sandbox files must not include {MAIN_FILE} (the code runs as {MAIN_FILE})")
        env, args, read_only = check_env(env), check_args(args), check_read_only(read_only)
        iso = self.isolation(python)
        if iso.drop_uid and not iso.filesystem:  # no read-only mount: only file permissions protect it
            changeable = [p for p in read_only if writable_by_others(p)]
            if changeable:
                raise UsageError(f"sandbox read_only path {changeable[0]} is writable by other users: a program "
                                 "could change it for the next one (chmod go-w it, or install bubblewrap)")
        return self._run(iso, [iso.python, MAIN_FILE, *args], {**(files or {}), MAIN_FILE: code},
                         stdin, limits or Limits(), env, read_only)

    def run_command(self, argv: Sequence[str], *, stdin: Union[str, bytes, None] = None,
                    files: Optional[Files] = None, limits: Optional[Limits] = None,
                    env: Optional[Mapping[str, str]] = None) -> ExecResult:
        """Run any program (a compiler, a built binary) under the same isolation and limits."""
        if not argv:
            raise UsageError("sandbox command is empty")
        argv, env = check_args(argv), check_env(env)
        return self._run(self.isolation(), argv, dict(files or {}), stdin, limits or Limits(), env)

    def close(self) -> None:
        """Refuse new executions and kill the ones in flight (server shutdown, interpreter exit)."""
        self._closed = True
        self.kill_all()
        with self._lock:
            for _uid, lock in self._uids.values():
                os.close(lock)
            self._uids.clear()

    def __del__(self) -> None:
        for _uid, lock in getattr(self, "_uids", {}).values():
            os.close(lock)

    def _uid(self, slot: int) -> int:
        with self._lock:
            if slot not in self._uids:
                self._uids[slot] = claim_uid()
                procs.sweep_uid(self._uids[slot][0])  # left behind by a crashed previous holder
            return self._uids[slot][0]

    def kill_all(self) -> None:
        """Kill every execution in flight (server shutdown)."""
        with self._lock:
            live = list(self._live.values())
        for proc, uid in live:
            procs.kill_execution(proc, uid)

    def _run(self, iso: Isolation, command, files: Files, stdin, limits: Limits, env,
             read_only: Sequence[str] = ()) -> ExecResult:
        _file_paths(files)  # bad names are the caller's error, before a slot is taken
        slot = self._slots.get()
        try:
            uid = self._uid(slot) if iso.drop_uid else None
            with WorkDir(uid) as workdir:
                _write_files(workdir, files)
                if uid is not None:
                    _chown_tree(workdir, uid)
                try:
                    return self._spawn(iso, command, workdir, stdin, limits, env, uid, read_only)
                finally:
                    if uid is not None and not iso.filesystem:
                        remove_files_of(uid)  # what it left in the host's /tmp, /var/tmp, /dev/shm
        finally:
            self._slots.put(slot)

    def _spawn(self, iso, command, workdir, stdin, limits, env, uid, read_only=()) -> ExecResult:
        flags = dict(isolation=iso.mode, network_isolated=iso.network, fs_isolated=iso.filesystem,
                     pid_isolated=iso.pids, as_root=iso.as_root)
        if self._closed:
            return ExecResult("", "the sandbox is shutting down", None, "sandbox_error", 0.0, **flags)
        stdin_file = None
        if stdin is not None:
            stdin_file = tempfile.TemporaryFile()
            stdin_file.write(stdin.encode() if isinstance(stdin, str) else stdin)
            stdin_file.seek(0)
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                build_argv(iso, limits, workdir, command, uid, read_only, env), cwd=workdir,
                env=build_env(iso, workdir, limits), stdin=stdin_file or subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                preexec_fn=preexec_limits(iso, limits))
        except OSError as exc:
            return ExecResult("", f"sandbox could not start the program: {exc}", None, "sandbox_error",
                              time.monotonic() - start, **flags)
        finally:
            if stdin_file is not None:
                stdin_file.close()
        with self._lock:
            self._live[proc.pid] = (proc, uid)
            closing = self._closed  # close() ran between the check above and now
        if closing:
            procs.kill_execution(proc, uid)
        try:
            out = _collect(proc, limits, start + limits.wall_s)
            if out.reason is None:
                try:
                    proc.wait(timeout=max(0.0, start + limits.wall_s - time.monotonic()))
                except subprocess.TimeoutExpired:
                    out.reason = "timeout"
            if out.reason is not None or out.leftovers:
                procs.kill_execution(proc, uid)
            elif uid is not None and not iso.pids:
                procs.sweep_uid(uid)  # setsid escapees left the process group but kept the uid
            elif not iso.pids:
                _killpg(proc.pid)
        finally:
            with self._lock:
                self._live.pop(proc.pid, None)
            if proc.poll() is None:
                procs.kill_execution(proc, uid)
        duration = time.monotonic() - start
        rc = proc.returncode
        if rc is not None and iso.wrapped and 128 < rc <= 128 + 64:
            rc = -(rc - 128)  # bwrap/timeout report "killed by signal N" as 128 + N
        timed_out = out.reason == "timeout" or rc == -signal.SIGXCPU
        status = out.reason or ("timeout" if timed_out else "completed" if rc == 0 else "error")
        return ExecResult(_text(out.data[0]), _text(out.data[1]), None if out.reason else rc, status,
                          duration, timed_out=timed_out, stdout_truncated=out.truncated[0],
                          stderr_truncated=out.truncated[1], **flags)


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


@dataclass
class _Output:
    data: Tuple[bytearray, bytearray] = field(default_factory=lambda: (bytearray(), bytearray()))
    truncated: List[bool] = field(default_factory=lambda: [False, False])
    reason: Optional[str] = None  # "timeout" | "output_limit"
    leftovers: bool = False  # something still held the pipes after the program exited


def _collect(proc: subprocess.Popen, limits: Limits, deadline: float) -> _Output:
    """Read both pipes until EOF, the deadline, or more than ``max_output_bytes`` on one."""
    cap = int(limits.max_output_bytes)
    res = _Output()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, 0)
    sel.register(proc.stderr, selectors.EVENT_READ, 1)
    exited_at = None
    try:
        while sel.get_map() and res.reason is None:
            now = time.monotonic()
            if now >= deadline:
                res.reason = "timeout"
                break
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > EXIT_GRACE_S:
                res.leftovers = True
                break
            for key, _ in sel.select(min(deadline - now, 0.05 if exited_at else 0.25)):
                data = os.read(key.fd, READ_CHUNK)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                buf = res.data[key.data]
                room = cap - len(buf)
                buf += data[:room]
                if len(data) > room:
                    res.truncated[key.data] = True
                    res.reason = "output_limit"
    finally:
        sel.close()
        proc.stdout.close()
        proc.stderr.close()
    return res
