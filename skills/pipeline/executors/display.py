"""One progress display per ``ns`` command, whatever the number of jobs and runs inside them.

Generation runs started by the local executor write small progress files (see
``skills.inference.progress``); this reads them all. At a terminal: a live table (rich) with one row
per benchmark and seed: done/total, tokens/s, ETA, retries, failures, state; job lines are printed
above it. Elsewhere (log files, CI, Slurm): every ``$SKILLS_PROGRESS_INTERVAL`` seconds (default 30)
one plain line per run that changed, so logs stay short and readable.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import IO, Any, Dict, List, Optional

from skills.inference.progress import INTERVAL_ENV


def _eta(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def read_runs(folder: Path) -> List[Dict[str, Any]]:
    runs = []
    for path in sorted(folder.glob("*.json")):
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # being replaced right now
    return runs


def plain_line(run: Dict[str, Any]) -> str:
    total = run.get("total") or 0
    pct = f" ({100 * run.get('done', 0) / total:.0f}%)" if total else ""
    return (f"progress: {run.get('label')}: {run.get('state')} {run.get('done', 0)}/{total}{pct}, "
            f"{run.get('tok_s', 0):.0f} tok/s, ETA {_eta(run.get('eta_s'))}, retries {run.get('retries', 0)}, "
            f"failures {run.get('failures', 0)}")


class Display:
    def __init__(self, folder: Path, out: IO[str]):
        self.folder = Path(folder)
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.interval = float(os.environ.get(INTERVAL_ENV, "30"))
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.live = None
        self.thread: Optional[threading.Thread] = None
        self.seen: Dict[str, tuple] = {}

    def __enter__(self) -> "Display":
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self.live = Live(get_renderable=self._table, console=Console(file=self.out), refresh_per_second=2,
                             transient=False)
            self.live.start()
        else:
            self.thread = threading.Thread(target=self._plain_loop, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        if self.live is not None:
            self.live.stop()
        elif self.thread is not None:
            self.thread.join(timeout=5)
            self._print_changes()  # the final state of every run

    def print(self, text: str) -> None:
        """A job's line, above the live table (or plainly)."""
        with self.lock:
            if self.live is not None:
                self.live.console.print(text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
            else:
                self.out.write(text)
                self.out.flush()

    def _table(self):
        from rich.table import Table

        table = Table(title=None, show_edge=False, pad_edge=False)
        for col in ("benchmark / seed", "state", "done", "tok/s", "ETA", "retries", "failures"):
            table.add_column(col, justify="left" if col in ("benchmark / seed", "state") else "right")
        for run in read_runs(self.folder):
            total = run.get("total") or 0
            table.add_row(str(run.get("label")), str(run.get("state")), f"{run.get('done', 0)}/{total}",
                          f"{run.get('tok_s', 0):.0f}", _eta(run.get("eta_s")), str(run.get("retries", 0)),
                          str(run.get("failures", 0)))
        return table

    def _print_changes(self) -> None:
        for run in read_runs(self.folder):
            key = (run.get("state"), run.get("done"), run.get("failures"), run.get("retries"))
            if self.seen.get(run.get("label")) != key:
                self.seen[run.get("label")] = key
                self.print(plain_line(run) + "\n")

    def _plain_loop(self) -> None:
        while not self.stop_event.wait(self.interval):
            self._print_changes()
