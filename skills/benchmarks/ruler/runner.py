"""One RULER generator process: own process group, progress read from its output, two time limits.

RULER's generators loop forever instead of failing when a task cannot fit the budget with the
given tokenizer (qa when one document is too long, vt when its in-context example is), and some
loops print nothing. So a run is killed, with every child, when it exceeds its wall-clock limit or
when neither a haystack-size step nor a sample has finished for ``stall`` seconds. Progress comes
from the generators' own output: "Testing haystack size: N, resulting tokens: T" lines while the
haystack size is searched, then tqdm's ``done/total`` counter. The raw output goes to a log file
that error messages point to.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Deque, Dict, List, Optional

from skills.config.errors import UsageError

_TQDM = re.compile(rb"(\d+)/(\d+) \[")
_SIZING = re.compile(rb"Testing haystack size: \d+, resulting tokens: (\d+)")


@dataclass(frozen=True)
class Limits:
    timeout: float  # wall-clock seconds for the whole task (0: none)
    stall: float  # seconds without a finished sizing step or sample (0: none)


@dataclass
class Status:
    total: int = 0  # samples asked for (tqdm counters of other sizes, e.g. vt's example, are not progress)
    phase: str = "starting"  # starting | sizing | generating
    done: int = 0
    tokens: int = 0  # prompt length of the last sizing step
    started: float = field(default_factory=time.monotonic)
    changed: float = field(default_factory=time.monotonic)
    tail: Deque[str] = field(default_factory=lambda: collections.deque(maxlen=8))

    def feed(self, line: bytes) -> None:
        sizing = _SIZING.search(line)
        counter = _TQDM.search(line)
        if sizing:
            self.phase, self.tokens, self.changed = "sizing", int(sizing.group(1)), time.monotonic()
        elif counter and int(counter.group(2)) == self.total:
            done = int(counter.group(1))
            if (done, self.phase) != (self.done, "generating"):
                self.changed = time.monotonic()
            self.phase, self.done = "generating", done
        if line.strip():
            self.tail.append(line.decode("utf-8", "replace").strip())


def _pump(stream, log, status: Status, lock: threading.Lock) -> None:
    """Copy the output to the log; feed complete lines (ended by \\n or tqdm's \\r) to the status."""
    pending = b""
    for chunk in iter(lambda: stream.read1(65536), b""):
        log.write(chunk)
        log.flush()
        *lines, pending = re.split(rb"[\r\n]", pending + chunk)
        with lock:
            for line in lines:
                status.feed(line)
    with lock:
        status.feed(pending)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run(argv: List[str], env: Dict[str, str], log_path: Path, limits: Limits, label: str, samples: int,
        on_status: Callable[[Status], None], cancel: Optional[threading.Event] = None) -> None:
    """Run to completion or raise UsageError (failure, limit exceeded, cancelled) in one line."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    status, lock = Status(total=samples), threading.Lock()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        pump = threading.Thread(target=_pump, args=(proc.stdout, log, status, lock), daemon=True)
        pump.start()
        why = None
        try:
            while proc.poll() is None:
                time.sleep(0.5)
                now = time.monotonic()
                with lock:
                    on_status(status)
                    if limits.timeout and now - status.started > limits.timeout:
                        why = f"took longer than {limits.timeout:.0f} s (--task_timeout)"
                    elif limits.stall and now - status.changed > limits.stall:
                        why = (f"made no progress for {limits.stall:.0f} s (--stall_timeout; at {status.phase}, "
                               f"{status.done}/{status.total} samples)")
                if cancel is not None and cancel.is_set():
                    why = "was cancelled"
                if why:
                    break
        finally:
            if proc.poll() is None:
                _kill(proc)
            pump.join(timeout=10)
    if why:
        hint = (" RULER's generators loop forever when a task does not fit --max_seq_length with this tokenizer"
                if "progress" in why else "")
        raise UsageError(f"{label}: generation {why}; killed.{hint} Output: {log_path}")
    if proc.returncode != 0:
        last = status.tail[-1] if status.tail else "no output"
        raise UsageError(f"{label}: RULER's generator failed (exit code {proc.returncode}): {last}. Output: {log_path}")
