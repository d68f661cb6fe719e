"""Launches: one execution's chain in its own fresh work dir, started and waiting in its stage
for the go line (``launcher.launch_argv``), and the next launch of each worker slot started ahead.

Starting the chain (namespaces, mounts, limits, uid drop) costs about as much as the interpreter's
own start-up. Where a chain may wait for its request (``Isolation.starts_ahead``: its PID namespace
dies with the thread that started it), a worker slot's next launch is started as soon as its last
execution ended, so a request finds everything but its program ready. Isolation stays per
execution: every launch has its own namespaces, work dir and stage, serves one program, and is
never reused. A launch started ahead is used only if it is exactly the one the request would get
(same isolation, limits, read-only paths, uid, and hidden working directory); else it is thrown
away and the request starts its own.

``bwrap --die-with-parent`` and ``setpriv --pdeathsig`` act when the *thread* that started the
chain ends, so launches ahead are started by one thread that lives as long as its ``Ahead``.
"""

from __future__ import annotations

import os
import subprocess
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Dict, Optional, Sequence

from skills.sandbox import procs
from skills.sandbox.launcher import Isolation, build_env, launch_argv, preexec_limits
from skills.sandbox.types import Limits
from skills.sandbox.workdir import WorkDir, remove_files_of

DISCARD_WAIT_S = 2.0  # a launch never used ends at EOF on its stdin; after this long it is killed


class Launch:
    """A started chain, waiting for its go line; ``close()`` once its program has ended."""

    def __init__(self, iso: Isolation, limits: Limits, uid: Optional[int], read_only: Sequence[str] = ()):
        self.iso, self.uid = iso, uid
        self._owner = os.getpid()  # a forked child inherits this object, never the launch
        self._workdir = WorkDir(uid)
        self.path = self._workdir.__enter__()
        self.sent = False  # the go line went out: a program ran (or runs) in it
        self._closed = False
        try:
            self.argv = launch_argv(iso, limits, self.path, uid, read_only)
            self.env = build_env(iso, self.path, limits)
            self.proc = subprocess.Popen(self.argv, cwd=self.path, env=self.env, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                         preexec_fn=preexec_limits(iso, limits))
        except BaseException:
            self._workdir.__exit__(None, None, None)
            raise

    def fits(self, iso: Isolation, limits: Limits, read_only: Sequence[str]) -> bool:
        """Whether this is exactly the chain the request would start now with this launch's uid
        (the caller's working directory, which bwrap hides, may have changed since) and it still
        waits."""
        return (not self.sent and self.iso == iso and self.proc.poll() is None
                and launch_argv(iso, limits, self.path, self.uid, read_only) == self.argv
                and build_env(iso, self.path, limits) == self.env)

    def close(self) -> None:
        """End it (a launch never used ends at EOF on its stdin), then remove its work dir and,
        without a private filesystem, what its uid left in the shared temporary folders."""
        if self._closed or os.getpid() != self._owner:
            return
        self._closed = True
        try:
            if not self.sent:
                _close_pipe(self.proc.stdin)
                try:
                    self.proc.wait(timeout=DISCARD_WAIT_S)
                except subprocess.TimeoutExpired:
                    pass
            if self.proc.poll() is None:
                procs.kill_execution(self.proc, self.uid)
            for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                _close_pipe(pipe)
            if self.uid is not None and not self.iso.filesystem:
                remove_files_of(self.uid)
        finally:
            self._workdir.__exit__(None, None, None)


def _close_pipe(pipe) -> None:
    try:
        pipe.close()
    except OSError:  # a write end whose reader is gone
        pass


def _close_launch(future: "Future[Launch]") -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()


class Ahead:
    """Per worker slot, the next launch, started by one long-lived thread."""

    def __init__(self) -> None:
        self._ready: Dict[int, "Future[Launch]"] = {}
        self._lock = threading.Lock()
        self._pool: Optional[ThreadPoolExecutor] = None
        self._closed = False
        self._owner = os.getpid()  # a forked child (no launching thread there) starts its own on request

    def forked(self) -> bool:
        """In a forked child: no launching thread there; executions start on request."""
        return os.getpid() != self._owner

    def start(self, slot: int, iso: Isolation, limits: Limits, uid: Optional[int],
              read_only: Sequence[str] = ()) -> None:
        """Start ``slot``'s next launch in the background (once its last one is closed)."""
        if self.forked():
            return
        with self._lock:
            if self._closed:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="sandbox-ahead")
            old = self._ready.pop(slot, None)
            self._ready[slot] = self._pool.submit(Launch, iso, limits, uid, tuple(read_only))
        if old is not None:
            old.add_done_callback(_close_launch)

    def call(self, function, *args):
        """``function(*args)`` on the launching thread (what it starts dies with that thread only)."""
        with self._lock:
            if self._closed or self.forked():
                raise RuntimeError("the sandbox is closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="sandbox-ahead")
            future = self._pool.submit(function, *args)
        return future.result()

    def take(self, slot: int, iso: Isolation, limits: Limits, read_only: Sequence[str] = ()) -> Optional[Launch]:
        """``slot``'s launch if it is the one this request needs (with whichever of the slot's
        uids it has); None (and it is thrown away) otherwise, or if none was started or it could
        not start."""
        if self.forked():
            return None
        with self._lock:
            future = self._ready.pop(slot, None)
        if future is None:
            return None
        try:
            launch = future.result()
        except Exception:  # noqa: BLE001 - it could not start: the request starts its own and reports why
            return None
        if launch.fits(iso, limits, read_only):
            return launch
        launch.close()
        return None

    def close(self, wait: bool = True) -> None:
        """Throw every launch away; ``wait=False`` (a finalizer, maybe on the launching thread
        itself) leaves those still starting to be closed by that thread once started."""
        if self.forked():
            return
        with self._lock:
            self._closed = True
            ready, self._ready = list(self._ready.values()), {}
            pool, self._pool = self._pool, None
        for future in ready:
            if wait or future.done():
                try:
                    future.result()
                except Exception:  # noqa: BLE001 - never started: nothing to close
                    continue
                _close_launch(future)
            else:
                future.add_done_callback(_close_launch)
        if pool is not None:
            pool.shutdown(wait=False)
