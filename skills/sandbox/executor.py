"""Run untrusted programs: one fresh process and work dir per execution, limits, capped output.

``Sandbox`` is thread-safe: graders call ``execute`` from many threads at once. At most ``workers``
executions run at a time (default: the usable cores), so wall-time limits are not eaten by
queueing behind each other; a caller beyond that waits for a free slot before its clock starts.
Each slot's next launch is started ahead where the isolation allows it (``launches``).
"""

from __future__ import annotations

import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from skills.config.errors import UsageError
from skills.sandbox import procs
from skills.sandbox.launcher import Isolation, check_env, go_line, warm_possible
from skills.sandbox.launches import Ahead, Launch
from skills.sandbox.warm import Warm, WarmError
from skills.sandbox.mirror import writable_by_others
from skills.sandbox.probe import detect
from skills.sandbox.types import ExecResult, Limits
from skills.sandbox.uids import claim_uid
from skills.sandbox.workdir import reap_stale

Files = Mapping[str, Union[str, bytes]]
MAIN_FILE = "main.py"
PYTHON_ENV = "SKILLS_SANDBOX_PYTHON"  # interpreter for untrusted code (default: this one)
WORKERS_ENV = "SKILLS_SANDBOX_WORKERS"
READ_ONLY_ROOTS_ENV = "SKILLS_SANDBOX_READ_ONLY_ROOTS"  # service: folders requests may read (read_only)
MAX_WORKERS = 1024
EXIT_GRACE_S = 0.2  # after the program exits, how long leftovers may hold its output pipes
READ_CHUNK = 1 << 16
WRITE_CHUNK = 1 << 16


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


def _write_files(workdir: str, files: Files, uid: Optional[int] = None) -> None:
    """Write ``files`` into a fresh work dir (owned by ``uid`` when given, as its folders)."""
    for name, rel in _file_paths(files).items():
        content = files[name]
        if not isinstance(content, (str, bytes)):
            raise UsageError(f"sandbox file {name!r}: content must be text or bytes")
        path = os.path.join(workdir, rel)
        try:
            folder = workdir
            for part in rel.split(os.sep)[:-1]:
                folder = os.path.join(folder, part)
                if not os.path.isdir(folder):
                    os.mkdir(folder, 0o777)
                    if uid is not None:
                        os.chown(folder, uid, uid)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
            with open(fd, "wb") as f:  # a fresh work dir: nothing there to follow or overwrite
                f.write(content.encode() if isinstance(content, str) else content)
            if uid is not None:
                os.chown(path, uid, uid)
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


class Sandbox:
    """Executes untrusted code with ``python`` (default ``$SKILLS_SANDBOX_PYTHON`` or this
    interpreter) under the strongest isolation ``probe.detect`` finds here."""

    def __init__(self, python: Optional[str] = None, workers: Optional[int] = None,
                 isolation: Optional[str] = None):
        self._python = python
        self.workers = min(workers or default_workers(), MAX_WORKERS)
        self.mode = isolation  # None: $SKILLS_SANDBOX_ISOLATION, else auto
        # last in, first out: one caller after another gets the slot whose next launch is ready
        self._slots: "queue.LifoQueue[int]" = queue.LifoQueue()
        for slot in reversed(range(self.workers)):
            self._slots.put(slot)
        # slot -> two (throwaway uid, its lock fd), as root: the execution's and its next launch's
        self._uids: Dict[int, List[Tuple[int, int]]] = {}
        self._live: Dict[int, Tuple[subprocess.Popen, Optional[int]]] = {}
        self._ahead = Ahead()  # each slot's next launch, and the thread that starts warm launchers
        self._warm: Dict[int, Warm] = {}  # slot -> its warm launcher (bubblewrap as root)
        self._no_warm: set = set()  # isolations whose fresh warm launcher failed: not tried again
        self._launched = {"warm": 0, "ahead": 0, "on_request": 0}
        self._lock = threading.Lock()
        self._closed = False
        # launches ahead run as the slots' uids: thrown away before the uids are given back
        self._release = weakref.finalize(self, _release, self._ahead, self._warm, self._uids)
        reap_stale()

    @property
    def launches(self) -> Dict[str, int]:
        """How many executions came from a warm launcher, found their launch started ahead, or
        started their own."""
        with self._lock:
            return dict(self._launched)

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
        """Refuse new executions, kill the ones in flight and throw away the launches started
        ahead (server shutdown, interpreter exit)."""
        with self._lock:
            self._closed = True
        self.kill_all()
        self._ahead.close()
        self._release()

    def _slot_uids(self, slot: int) -> Tuple[int, int]:
        """The slot's two throwaway uids: its execution runs as one while its next launch starts
        ahead as the other (a uid is never shared by two launches that exist at once)."""
        with self._lock:
            if slot not in self._uids:
                self._uids[slot] = [claim_uid(), claim_uid()]
                for uid, _lock in self._uids[slot]:
                    procs.sweep_uid(uid)  # left behind by a crashed previous holder
            first, second = self._uids[slot]
            return first[0], second[0]

    def kill_all(self) -> None:
        """Kill every execution in flight (server shutdown)."""
        with self._lock:
            live = list(self._live.values())
        for proc, uid in live:
            procs.kill_execution(proc, uid)

    def _run(self, iso: Isolation, command, files: Files, stdin, limits: Limits, env,
             read_only: Sequence[str] = ()) -> ExecResult:
        _file_paths(files)  # bad names are the caller's error, before a slot is taken
        flags = dict(isolation=iso.mode, network_isolated=iso.network, fs_isolated=iso.filesystem,
                     pid_isolated=iso.pids, as_root=iso.as_root)
        slot = self._slots.get()
        try:
            if self._closed:
                return ExecResult("", "the sandbox is shutting down", None, "sandbox_error", 0.0, **flags)
            uids = self._slot_uids(slot) if iso.drop_uid else (None, None)
            launch = self._warm_launch(slot, iso, limits, uids[0], read_only)
            if launch is not None:
                with self._lock:
                    self._launched["warm"] += 1
                try:
                    return self._execute(launch, command, files, stdin, limits, env, flags)
                finally:
                    launch.close()
            launch = self._ahead.take(slot, iso, limits, read_only)
            with self._lock:
                self._launched["ahead" if launch else "on_request"] += 1
            if launch is None:
                try:
                    launch = Launch(iso, limits, uids[0], read_only)
                except OSError as exc:
                    return ExecResult("", f"sandbox could not start the program: {exc}", None, "sandbox_error",
                                      0.0, **flags)
            # the next launch may start while this program runs where it cannot reach it: another
            # uid, or no view of the host's temporary folders; else once this one has ended
            following = uids[1] if launch.uid == uids[0] and iso.drop_uid else uids[0]
            overlap = iso.starts_ahead and (iso.drop_uid or iso.filesystem)
            start_next = (lambda: self._ahead.start(slot, iso, limits, following, read_only)) if overlap else None
            try:
                return self._execute(launch, command, files, stdin, limits, env, flags, start_next)
            finally:
                launch.close()
                if iso.starts_ahead and not overlap:
                    self._ahead.start(slot, iso, limits, launch.uid, read_only)
        finally:
            self._slots.put(slot)

    def _warm_launch(self, slot: int, iso: Isolation, limits: Limits, uid: Optional[int], read_only):
        """An execution of the slot's warm launcher (started, or replaced, as needed), or None
        where there is none for this isolation or it failed (the request then starts a launch)."""
        if not warm_possible(iso, read_only) or iso in self._no_warm or self._ahead.forked():
            return None
        warm = self._warm.get(slot)
        if warm is not None and not warm.fits(iso, limits, read_only):
            self._warm.pop(slot).close()
            warm = None
        fresh = warm is None
        try:
            if fresh:
                warm = self._warm[slot] = self._ahead.call(Warm, iso, limits, read_only)
            return warm.launch(uid, limits)
        except (OSError, WarmError, RuntimeError):
            if self._warm.get(slot) is not None:
                self._warm.pop(slot).close()
            if fresh:  # it cannot work here (a container without CAP_NET_ADMIN, say): bwrap chains then
                self._no_warm.add(iso)
            return None

    def _execute(self, launch: Launch, command, files: Files, stdin, limits: Limits, env, flags,
                 start_next: Optional[Callable[[], None]] = None) -> ExecResult:
        """Write the files into the launch's work dir, send its go line and the program's stdin
        (then ``start_next``), collect the output; on return nothing of the execution is left
        running."""
        iso, uid, proc = launch.iso, launch.uid, launch.proc
        if self._closed:
            return ExecResult("", "the sandbox is shutting down", None, "sandbox_error", 0.0, **flags)
        _write_files(launch.path, files, uid)
        feed = go_line(iso, command, env)
        if stdin is not None:
            feed += stdin.encode() if isinstance(stdin, str) else bytes(stdin)
        with self._lock:
            self._live[proc.pid] = (proc, uid)
            closing = self._closed  # close() ran between the check above and now
        if closing:
            procs.kill_execution(proc, uid)
        start = time.monotonic()
        launch.sent = True
        try:
            feed = _send(proc, feed)
            if start_next is not None:
                start_next()
            out = _collect(proc, limits, start + limits.wall_s, feed)
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
            rc = -(rc - 128)  # bwrap, a warm launch and timeout report "killed by signal N" as 128 + N
        timed_out = out.reason == "timeout" or rc == -signal.SIGXCPU
        status = out.reason or ("timeout" if timed_out else "completed" if rc == 0 else "error")
        return ExecResult(_text(out.data[0]), _text(out.data[1]), None if out.reason else rc, status,
                          duration, timed_out=timed_out, stdout_truncated=out.truncated[0],
                          stderr_truncated=out.truncated[1], **flags)


def _release(ahead: Ahead, warm: Dict[int, Warm], uids: Dict[int, List[Tuple[int, int]]]) -> None:
    """Throw the launches away, end the warm launchers, then give the throwaway uids back
    (``close``, or garbage collection; in a forked child, which inherits none of them, they are
    left alone)."""
    ahead.close(wait=False)
    for slot in list(warm):
        warm.pop(slot).close()
    for pairs in uids.values():
        for _uid, lock in pairs:
            os.close(lock)
    uids.clear()


def _send(proc: subprocess.Popen, feed: bytes) -> memoryview:
    """Write what the pipe takes at once (the go line, a short stdin); the rest is ``_collect``'s."""
    fd = proc.stdin.fileno()
    os.set_blocking(fd, False)
    try:
        return memoryview(feed)[os.write(fd, feed[:WRITE_CHUNK]):]
    except BlockingIOError:
        return memoryview(feed)
    except OSError:  # the chain ended already (it could not start): _collect reads why
        return memoryview(feed)[:0]


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


def _collect(proc: subprocess.Popen, limits: Limits, deadline: float, feed: Union[bytes, memoryview] = b"") -> _Output:
    """Write ``feed`` to stdin (then close it) while reading both output pipes until EOF, the
    deadline, or more than ``max_output_bytes`` on one."""
    cap = int(limits.max_output_bytes)
    res = _Output()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, 0)
    sel.register(proc.stderr, selectors.EVENT_READ, 1)
    pending = memoryview(feed)
    if proc.stdin is not None:
        if pending:
            os.set_blocking(proc.stdin.fileno(), False)
            sel.register(proc.stdin, selectors.EVENT_WRITE, 2)
        else:
            _close(proc.stdin)
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
                if key.data == 2:
                    try:
                        pending = pending[os.write(key.fd, pending[:WRITE_CHUNK]):]
                    except BlockingIOError:
                        continue
                    except OSError:  # the program stopped reading (ended, or closed its stdin)
                        pending = pending[:0]
                    if not pending:
                        sel.unregister(key.fileobj)
                        _close(proc.stdin)
                    continue
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
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                _close(pipe)
    return res


def _close(pipe) -> None:
    try:
        pipe.close()
    except OSError:  # a write end whose reader is gone
        pass
