"""A worker slot's warm launcher: bubblewrap started once, per execution only fresh namespaces.

A bwrap per execution spends about 6 ms of CPU on its mounts and namespaces, half a bare start of
the interpreter. With bubblewrap as root and the compiled stage, each worker slot instead keeps one
long-lived bwrap holding the view every execution shares (read-only root, hidden folders, the
interpreter mounted back, a minimal /dev), running ``stage.c -z``. For each execution it clones a
process into new PID, mount, IPC and network namespaces that mounts a fresh /proc, a private
/dev/shm and the execution's own work dir on /tmp, and whose child drops to the throwaway uid and
becomes the program: the isolation of a fresh bwrap, at about 0.5 ms. Nothing of an execution
outlives it (its PID namespace dies with its first process), and no execution sees another's work
dir (the slot's folder is detached from each execution's mount namespace before the program runs).

The launcher is started by the ``Ahead`` thread (``bwrap --die-with-parent`` follows the thread
that started it) and serves its slot's executions one at a time over a socket; it is replaced when
the interpreter, ``read_only`` paths or the hidden working directory change.
"""

from __future__ import annotations

import array
import os
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from typing import Optional, Sequence

from skills.sandbox import procs
from skills.sandbox.launcher import INSIDE_WORKDIR, Isolation, build_env, warm_argv, warm_request
from skills.sandbox.types import Limits
from skills.sandbox.workdir import PREFIX, remove_tree

REPLY_TIMEOUT_S = 30.0  # the launcher answers a request at once; a loaded machine may be slow
CLOSE_WAIT_S = 2.0
WAIT_SLICE_S = 0.05  # a wait looks in slices, so another thread's look or close is not held up


class WarmError(RuntimeError):
    """The warm launcher did not answer as it should: the request starts a launch of its own."""


class Warm:
    """One slot's warm launcher (see the module's docstring)."""

    def __init__(self, iso: Isolation, limits: Limits, read_only: Sequence[str] = ()):
        self.iso, self.read_only = iso, tuple(read_only)
        self.threads = limits.threads  # in the launcher's environment, as everything in it
        self._owner = os.getpid()
        self.base = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-warm-")
        os.chmod(self.base, 0o711)  # others pass through to their work dir, never list or rename
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control_fd = child.fileno()  # its number in the launcher too (argv names it)
        try:
            self.argv = warm_argv(iso, self.base, self.control_fd, read_only)
            self.env = build_env(iso, INSIDE_WORKDIR, limits)
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd="/", stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         pass_fds=(child.fileno(),), start_new_session=True)
        except BaseException:
            parent.close()
            remove_tree(self.base)
            raise
        finally:
            child.close()
        self.control = parent

    def fits(self, iso: Isolation, limits: Limits, read_only: Sequence[str]) -> bool:
        """Whether the launcher is alive and has exactly the view this request needs now."""
        return (self.proc.poll() is None and self.iso == iso and tuple(read_only) == self.read_only
                and limits.threads == self.threads
                and warm_argv(iso, self.base, self.control_fd, read_only) == self.argv
                and build_env(iso, INSIDE_WORKDIR, limits) == self.env)

    def launch(self, uid: Optional[int], limits: Limits) -> "WarmLaunch":
        return WarmLaunch(self, uid, limits)

    def close(self) -> None:
        """End the launcher (EOF on its socket, then SIGKILL) and remove the slot's folder."""
        if os.getpid() != self._owner:
            return
        self.control.close()
        try:
            self.proc.wait(timeout=CLOSE_WAIT_S)
        except subprocess.TimeoutExpired:
            procs.kill_execution(self.proc, None)
        remove_tree(self.base)


class WarmRun:
    """The Popen-like handle of one execution of a warm launcher: ``pid`` is its namespace's first
    process (killing it kills everything in it), which writes the program's wait status on a pipe
    of ours before it exits (so the namespace's teardown is not waited for)."""

    def __init__(self, pid: int, stdin: int, stdout: int, stderr: int, status: int):
        self.pid, self.returncode, self._status = pid, None, status
        self.stdin = os.fdopen(stdin, "wb", buffering=0)
        self.stdout = os.fdopen(stdout, "rb", buffering=0)
        self.stderr = os.fdopen(stderr, "rb", buffering=0)
        self._text = b""
        self._lock = threading.Lock()

    def poll(self) -> Optional[int]:
        self._look(0.0)
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = WAIT_SLICE_S if deadline is None else min(WAIT_SLICE_S, max(0.0, deadline - time.monotonic()))
            self._look(left)
            if self.returncode is None and deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired("sandbox execution", timeout or 0)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        with self._lock:
            if self._status >= 0:
                os.close(self._status)
                self._status = -1

    def _look(self, timeout: float) -> None:
        """One look at the status pipe, under the lock: a shutdown's ``kill_all`` waits on this
        handle from another thread while the execution's own thread may read or close it."""
        with self._lock:
            if self.returncode is not None:
                return
            if self._status < 0:  # closed by the thread that ran it, which gave it up
                self.returncode = -signal.SIGKILL
                return
            if select.select([self._status], [], [], timeout)[0]:
                self._read_status()

    def _read_status(self) -> None:
        data = os.read(self._status, 64)
        self._text += data
        if data and not self._text.endswith(b"\n"):
            return  # the rest is on its way
        if not self._text:  # the first process was killed before the program ended (by us)
            self.returncode = -signal.SIGKILL
            return
        # like bwrap: the program's exit code, or 128 + the signal that ended it
        status = int(self._text)
        self.returncode = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


class WarmLaunch:
    """One execution of a warm launcher, with the interface of ``launches.Launch``: its own work
    dir (in the slot's folder), its first process started and waiting for the go message."""

    def __init__(self, warm: Warm, uid: Optional[int], limits: Limits):
        self.iso, self.uid, self.sent = warm.iso, uid, False
        self._owner = os.getpid()
        self._closed = False
        name = os.urandom(8).hex()
        self._outer = os.path.join(warm.base, name)
        os.mkdir(self._outer, 0o711)
        self.path = os.path.join(self._outer, "work")
        os.mkdir(self.path, 0o700)
        ours: list = []
        try:
            if uid is not None:
                os.chown(self.path, uid, uid)
            stdin_r, stdin_w = os.pipe()
            stdout_r, stdout_w = os.pipe()
            stderr_r, stderr_w = os.pipe()
            status_r, status_w = os.pipe()
            ours = [stdin_w, stdout_r, stderr_r, status_r]
            theirs = [stdin_r, stdout_w, stderr_w, status_w]
            try:
                warm.control.sendmsg([warm_request(uid, limits, name, warm.iso.nproc_base)],
                                     [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", theirs))])
            finally:
                for fd in theirs:
                    os.close(fd)
            if not select.select([warm.control], [], [], REPLY_TIMEOUT_S)[0]:
                raise WarmError("the warm launcher did not answer")
            reply = warm.control.recv(256).decode(errors="replace")
            if not reply.startswith("pid "):
                raise WarmError(f"the warm launcher answered {reply!r}")
            self.proc = WarmRun(int(reply.split()[1]), *ours)
        except BaseException:
            for fd in ours:
                os.close(fd)
            remove_tree(self._outer)
            raise

    def close(self) -> None:
        """As ``Launch.close``: end it (EOF before the go message), then remove its work dir."""
        if self._closed or os.getpid() != self._owner:
            return
        self._closed = True
        try:
            if not self.sent:
                _close(self.proc.stdin)
                deadline = time.monotonic() + CLOSE_WAIT_S
                while self.proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.005)
            if self.proc.poll() is None:
                procs.kill_execution(self.proc, self.uid)
            for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                _close(pipe)
            self.proc.close()
        finally:
            remove_tree(self._outer)


def _close(pipe) -> None:
    try:
        pipe.close()
    except OSError:
        pass
