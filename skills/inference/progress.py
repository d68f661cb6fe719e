"""Progress of one generation run: a tqdm bar for a person at a terminal, or a small JSON file
that the ``ns`` process showing all jobs at once reads (``$SKILLS_PROGRESS_DIR``).

With a dozen runs in one job, a dozen interleaved bars are unreadable; so under ``ns`` every run
writes ``<dir>/<label>.json`` (done, total, tokens/s, ETA, retries, failures, state) about once a
second, atomically, and the executor draws one display for the whole command.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional

PROGRESS_ENV = "SKILLS_PROGRESS_DIR"
INTERVAL_ENV = "SKILLS_PROGRESS_INTERVAL"  # seconds between plain progress lines (logs, CI, Slurm)


def run_label(output: Optional[Path], generation_key: str = "generation") -> str:
    """``aime24 rs3`` / ``hle rs0 judge`` / ``math-500`` from an output path."""
    if output is None:
        return "generation"
    m = re.match(r"output(?:-rs(\d+))?(?:_chunk_(\d+))?\.jsonl$", output.name)
    label = output.parent.name or "generation"
    if m and m.group(1) is not None:
        label += f" rs{m.group(1)}"
    if m and m.group(2) is not None:
        label += f" chunk{m.group(2)}"
    return label + (" judge" if generation_key == "judgement" else "")


def benchmark_label(output: Optional[Path], generation_key: str = "generation") -> str:
    """``aime24`` / ``hle judge``: what the runs of one benchmark (all seeds, chunks) share."""
    label = output.parent.name if output is not None and output.parent.name else "generation"
    return label + (" judge" if generation_key == "judgement" else "")


ONCE_DIR = ".once"


def first_to_say(what: str) -> bool:
    """True for the first program of an ``ns`` command to ask about ``what`` (e.g. the example prompt
    of one benchmark, whose eight seeds run side by side), False for the others, so a log says it
    once. Claimed with an exclusive create in the progress folder, which the executor empties when
    a command starts. A program run by hand (no progress folder) always says it."""
    folder = os.environ.get(PROGRESS_ENV)
    if not folder:
        return True
    path = Path(folder) / ONCE_DIR / re.sub(r"[^\w.-]+", "_", what)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    except OSError:
        return True  # best effort: better twice than never
    return True


class Progress:
    """done/total, generated tokens/s, ETA, retries, failures; to a bar or a progress file."""

    def __init__(self, total: int, done: int, label: str = "generations", retries=lambda: 0):
        self.total, self.done, self.label = total, done, label
        self.start_done = done
        self.t0 = time.monotonic()
        self.tokens = 0
        self.failures = 0
        self.retries = retries
        self.next_write = 0.0
        folder = os.environ.get(PROGRESS_ENV)
        self.file = Path(folder) / (re.sub(r"[^\w.-]+", "_", label) + ".json") if folder else None
        self.bar = None
        if self.file is None:
            from tqdm import tqdm

            tty = sys.stderr.isatty()
            self.bar = tqdm(total=total, initial=done, desc=label, unit="req", file=sys.stderr,
                            mininterval=0.5 if tty else 30.0, dynamic_ncols=True)
        self.state("generating")

    def tok_s(self) -> float:
        return self.tokens / max(time.monotonic() - self.t0, 1e-9)

    def update(self, tokens: Optional[int], failed: bool = False) -> None:
        self.tokens += tokens or 0
        self.done += 1
        self.failures += failed
        now = time.monotonic()
        if self.bar is not None:
            if now >= self.next_write:
                self.next_write = now + 1.0
                self.bar.set_postfix_str(f"{self.tok_s():.0f} tok/s", refresh=False)
            self.bar.update(1)
        elif now >= self.next_write:
            self.next_write = now + 1.0
            self._write("generating")

    def state(self, state: str) -> None:
        if self.file is not None:
            self._write(state)

    def _write(self, state: str) -> None:
        elapsed = time.monotonic() - self.t0
        rate = (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        info: Dict[str, Any] = {
            "label": self.label, "state": state, "done": self.done, "total": self.total,
            "tok_s": round(self.tok_s(), 1), "eta_s": round(left / rate) if rate > 0 and left else None,
            "retries": self.retries(), "failures": self.failures, "updated": time.time(),
        }
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_suffix(".tmp")
            tmp.write_text(json.dumps(info))
            os.replace(tmp, self.file)
        except OSError:
            pass  # progress is best effort; the run itself must not fail on it

    def close(self, state: str = "generated") -> None:
        if self.bar is not None:
            self.bar.close()
        else:
            self._write(state)


def mark_state(output: Optional[Path], generation_key: str, state: str) -> None:
    """Update the state of a run's progress file (``grading``, ``done``), if it has one."""
    folder = os.environ.get(PROGRESS_ENV)
    if not folder:
        return
    label = run_label(output, generation_key)
    path = Path(folder) / (re.sub(r"[^\w.-]+", "_", label) + ".json")
    try:
        info = json.loads(path.read_text()) if path.exists() else {"label": label, "done": 0, "total": 0}
        info.update(state=state, updated=time.time())
        tmp = path.with_suffix(".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(info))
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass
