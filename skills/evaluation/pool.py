"""A process pool for ``math_equal`` with a hard per-answer timeout.

math-verify's own timeouts use SIGALRM, which only fires between Python bytecodes and only in a main
thread; a pathological expression can still hold a worker for minutes. Here each answer gets a hard
deadline: an overdue worker is killed and replaced, and that answer counts as not equal, so one bad
answer can never stall a grading job. Workers are spawned (not forked) so a threaded parent such as
the async generation client is safe, and only for answers that need them: what ``quick_equal``
decides (no answer, plain integers) is decided here, so a file of integer answers starts no worker,
and a question asked again (another seed's same answer to the same problem) is answered from the
first verdict.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from collections import deque
from multiprocessing.connection import wait
from typing import Dict, List, Optional, Sequence, Tuple

from skills.evaluation.math_grader import quick_equal

STARTUP_TIMEOUT_S = 300.0  # importing sympy on a loaded machine can be slow; not part of any deadline
Task = Tuple[object, object, dict]  # (expected, predicted, math_equal kwargs)


def _worker(conn) -> None:
    from skills.evaluation.math_grader import math_equal

    conn.send("ready")  # imports done: deadlines start counting only from here
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return
        if item is None:
            return
        idx, expected, predicted, kwargs = item
        try:
            result = bool(math_equal(expected, predicted, **kwargs))
        except Exception:  # unparsable input is simply not equal
            result = False
        conn.send((idx, result))


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self.task: Optional[int] = None
        self.deadline = 0.0
        self.ready = False

    def wait_ready(self, timeout: float) -> None:
        """Block until the worker has imported math-verify (a dead worker is replaced by the caller)."""
        if self.ready:
            return
        if not self.conn.poll(timeout) or self.conn.recv() != "ready":
            raise RuntimeError("math grading worker failed to start")
        self.ready = True

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                self.proc.kill()
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


PROGRESS_MIN_TASKS = 500  # below this, grading takes seconds: no bar


def _progress(total: int):
    """A tqdm bar on stderr for long grading runs (sparse updates when stderr is a log file)."""
    from tqdm import tqdm

    import os

    quiet = bool(os.environ.get("SKILLS_PROGRESS_DIR"))  # under ns: its display shows the state instead
    return tqdm(total=total, desc="grading", unit="answer", file=sys.stderr,
                disable=total < PROGRESS_MIN_TASKS or quiet, mininterval=0.5 if sys.stderr.isatty() else 30.0)


class MathChecker:
    """Checks many (expected, predicted) pairs in parallel; ``hard_timeout`` seconds per answer."""

    def __init__(self, workers: Optional[int] = None, hard_timeout: float = 60.0):
        self.max_workers = max(1, workers or os.cpu_count() or 1)
        self.hard_timeout = hard_timeout
        self._ctx = mp.get_context("spawn")
        self._workers: List[_Worker] = []
        self.timeouts = 0  # answers given up on, for logs and tests
        self._known: Dict[Tuple[str, str, str], bool] = {}  # verdicts so far: each question goes to sympy once

    def __enter__(self) -> "MathChecker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def check(self, expected, predicted, **kwargs) -> bool:
        return self.check_many([(expected, predicted, kwargs)])[0]

    def check_many(self, tasks: Sequence[Task]) -> List[bool]:
        results: List[bool] = [False] * len(tasks)
        todo: deque = deque()
        same: Dict[int, List[int]] = {}  # a task -> later tasks asking the same question
        first: Dict[Tuple[str, str, str], int] = {}
        for i, (expected, predicted, kwargs) in enumerate(tasks):  # no worker for what needs no sympy
            quick = quick_equal(expected, predicted, kwargs.get("take_modulo"))
            if quick is not None:
                results[i] = quick
                continue
            key = (str(expected), str(predicted), repr(sorted(kwargs.items())))
            if key in self._known:  # asked before (e.g. another seed gave the same answer)
                results[i] = self._known[key]
            elif key in first:
                same[first[key]].append(i)
            else:
                first[key] = i
                same[i] = []
                todo.append(i)
        while len(self._workers) < min(self.max_workers, len(todo)):
            self._workers.append(_Worker(self._ctx))
        for worker in self._workers:  # started in parallel above, so this waits ~one import time
            worker.wait_ready(STARTUP_TIMEOUT_S)
        busy: Dict[object, _Worker] = {}
        bar = _progress(len(todo))
        while todo or busy:
            for worker in self._workers:
                if worker.task is None and todo:
                    idx = todo.popleft()
                    expected, predicted, kwargs = tasks[idx]
                    worker.task, worker.deadline = idx, time.monotonic() + self.hard_timeout
                    worker.conn.send((idx, expected, predicted, kwargs))
                    busy[worker.conn] = worker
            if not busy:
                break
            timeout = max(0.0, min(w.deadline for w in busy.values()) - time.monotonic())
            for conn in wait(list(busy), timeout=timeout):
                worker = busy.pop(conn)
                try:
                    idx, ok = conn.recv()
                    results[idx] = ok
                    worker.task = None
                except (EOFError, OSError):  # the worker died: that answer is not equal
                    self._replace(worker)
                bar.update(1)
            now = time.monotonic()
            for conn, worker in list(busy.items()):
                if worker.deadline <= now:
                    busy.pop(conn)
                    self.timeouts += 1
                    self._replace(worker)
                    bar.update(1)
        bar.close()
        for key, i in first.items():
            self._known[key] = results[i]
            for j in same[i]:
                results[j] = results[i]
        return results

    def _replace(self, worker: _Worker) -> None:
        worker.stop(kill=True)
        fresh = _Worker(self._ctx)
        fresh.wait_ready(STARTUP_TIMEOUT_S)
        self._workers[self._workers.index(worker)] = fresh
