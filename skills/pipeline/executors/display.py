"""One progress display per ``ns`` command, whatever the number of jobs and runs inside them.

Generation runs started by the local executor write small progress files (see
``skills.inference.progress``); this reads them all and adds up the runs of each benchmark, so the
tutorial's 5 benchmarks x 8-16 seeds (72 runs) stay a handful of lines. At a terminal: a live
table (rich) with one line per benchmark (seeds finished, rows done/total, tokens/s, ETA, what
its runs are doing) and one for everything; job lines are printed above it. It always fits the
terminal: names and the state column are cut with an ellipsis to its width, and benchmarks beyond
its height are counted on one line. Elsewhere (log files, CI, Slurm): every
``$SKILLS_PROGRESS_INTERVAL`` seconds (default 30) one plain line per benchmark that changed,
and the overall line. A run's own numbers (seeds in numeric order): ``ns status OUT --progress``.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Deque, Dict, Iterable, List, Mapping, Optional, Tuple

from skills.inference.progress import INTERVAL_ENV

FINISHED = ("generated", "done")  # the run's generations are complete (grading may follow or be done)
STATE_ORDER = ("generating", "grading", "pending", "failed")
LABEL = re.compile(r"^(?P<bench>.+?)(?: rs(?P<seed>\d+))?(?: chunk(?P<chunk>\d+))?(?P<judge> judge)?$")


def _eta(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def split_label(label: str) -> Tuple[str, int, int]:
    """``aime24 rs10 chunk2 judge`` -> (``aime24 judge``, 10, 2): the benchmark a run belongs to,
    then its seed and chunk as numbers, so rs2 sorts before rs10."""
    m = LABEL.match(label or "")
    if m is None:
        return label, -1, -1
    return (m["bench"] + (m["judge"] or ""), int(m["seed"]) if m["seed"] else -1,
            int(m["chunk"]) if m["chunk"] else -1)


def read_runs(folder: Path, expected: Iterable[str] = (), rows: Optional[Mapping[str, int]] = None
              ) -> List[Dict[str, Any]]:
    """Every run's progress, seeds in numeric order; ``expected`` runs without a file yet are pending
    (with their ``rows`` when the plan could tell them: ``skills.pipeline.estimate.planned_rows``)."""
    runs: Dict[str, Dict[str, Any]] = {}
    for path in folder.glob("*.json"):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being replaced right now
        if isinstance(info, dict) and info.get("label"):
            runs[str(info["label"])] = info
    chunked = {split_label(label)[:2] for label in runs if split_label(label)[2] >= 0}
    for label in [x for x in runs if split_label(x)[2] < 0 and split_label(x)[:2] in chunked]:
        del runs[label]  # a chunked seed's merge and grading: its chunks already count it
    order: Dict[str, int] = {}
    for label in expected:
        runs.setdefault(label, {"label": label, "state": "pending", "done": 0, "total": (rows or {}).get(label, 0)})
        order.setdefault(split_label(label)[0], len(order))

    def key(run: Dict[str, Any]) -> Tuple[int, str, int, int]:
        bench, seed, chunk = split_label(str(run["label"]))
        return order.get(bench, len(order)), bench, seed, chunk

    return sorted(runs.values(), key=key)  # benchmarks in the plan's order, then by name


@dataclass
class Tally:
    """The runs of one benchmark (or of all), added up."""

    name: str
    runs: int = 0
    finished: int = 0
    done: int = 0
    total: int = 0
    unknown: int = 0  # runs whose row count is not known yet (not started)
    tok_s: float = 0.0
    rate: float = 0.0  # rows per second of the runs generating now
    retries: int = 0
    failures: int = 0
    states: Dict[str, int] = field(default_factory=dict)

    def add(self, run: Dict[str, Any]) -> None:
        state = str(run.get("state") or "pending")
        done, total = int(run.get("done") or 0), int(run.get("total") or 0)
        self.runs += 1
        self.finished += state in FINISHED
        self.done += done
        self.total += total
        self.unknown += total == 0 and state not in FINISHED
        self.retries += int(run.get("retries") or 0)
        self.failures += int(run.get("failures") or 0)
        if state == "generating":
            self.tok_s += float(run.get("tok_s") or 0.0)
            eta = run.get("eta_s")
            if eta and total > done:
                self.rate += (total - done) / float(eta)
        if state not in FINISHED:
            self.states[state] = self.states.get(state, 0) + 1

    def merge(self, other: "Tally") -> None:
        for name in ("runs", "finished", "done", "total", "unknown", "tok_s", "rate", "retries", "failures"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for state, n in other.states.items():
            self.states[state] = self.states.get(state, 0) + n

    @property
    def expected_total(self) -> int:
        """Rows of all runs; a run not started yet counts as many rows as its started siblings."""
        known = self.runs - self.unknown
        return self.total + (self.unknown * self.total // known if known else 0)

    @property
    def eta_s(self) -> Optional[float]:
        left = self.expected_total - self.done
        if left <= 0 or self.rate <= 0:
            return None
        return left / self.rate

    def rows(self) -> str:
        total = self.expected_total
        return f"{self.done}/{total}" if total else "-"

    def state(self) -> str:
        parts = [f"{self.states[s]} {s}" for s in STATE_ORDER if self.states.get(s)]
        parts += [f"{n} {s}" for s, n in self.states.items() if s not in STATE_ORDER]
        if self.retries:
            parts.append(f"{self.retries} retries")
        if self.failures:
            parts.append(f"{self.failures} failed rows")
        return ", ".join(parts) or "done"


def tallies(runs: List[Dict[str, Any]]) -> Tuple[List[Tally], Tally]:
    """Per benchmark (in the runs' order), and everything."""
    by_bench: Dict[str, Tally] = {}
    for run in runs:
        bench = split_label(str(run["label"]))[0]
        by_bench.setdefault(bench, Tally(bench)).add(run)
    overall = Tally("all")
    for t in by_bench.values():
        overall.merge(t)
    return list(by_bench.values()), overall


class PlanEta:
    """The whole plan's time left, for the display's overall line: the rows still to do (runs not
    started and judges included, counted with the plan's row numbers) over the rows per second the
    plan has done lately, measured on the wall clock over a sliding window (``window_s``). A
    run's own ETA only knows its own rate; this one also pays for server starts, grading and the
    gaps between jobs, and it does not vanish while no run is generating. ``clock`` is
    ``time.monotonic`` (a fake one in tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, window_s: float = 600.0):
        self.clock, self.window_s = clock, window_s
        self.samples: Deque[Tuple[float, int]] = deque()  # (time, rows done)

    def update(self, done: int, total: int) -> Optional[float]:
        """Record ``done`` of ``total`` rows now; seconds left (None until a rate is known, 0 when done)."""
        now = self.clock()
        if self.samples and done < self.samples[-1][1]:
            self.samples.clear()  # counted anew (a run restarted from its journal): start over
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window_s:
            self.samples.popleft()  # keep one sample at least window_s old
        if total and done >= total:
            return 0.0
        t0, d0 = self.samples[0]
        if now <= t0 or done <= d0 or not total:
            return None
        return (total - done) * (now - t0) / (done - d0)


def plain_line(t: Tally, eta: Optional[float] = None) -> str:
    """One log line of a benchmark's (or everything's) progress; ``eta``: the plan's (``PlanEta``)."""
    total = t.expected_total
    pct = f" ({100 * t.done / total:.0f}%)" if total else ""
    return (f"progress: {t.name}: {t.finished}/{t.runs} seeds done, rows {t.done}/{total or '?'}{pct}, "
            f"{t.tok_s:.0f} tok/s, ETA {_eta(t.eta_s if eta is None else eta)}, {t.state()}")


def run_line(run: Dict[str, Any]) -> str:
    """One run's own numbers (``ns status --progress``)."""
    total = run.get("total") or 0
    pct = f" ({100 * run.get('done', 0) / total:.0f}%)" if total else ""
    return (f"{run.get('label')}: {run.get('state')} {run.get('done', 0)}/{total}{pct}, "
            f"{run.get('tok_s', 0):.0f} tok/s, ETA {_eta(run.get('eta_s'))}, retries {run.get('retries', 0)}, "
            f"failures {run.get('failures', 0)}")


COLUMNS = (("benchmark", "left", 10), ("seeds", "right", 5), ("rows", "right", 9), ("tok/s", "right", 5),
           ("ETA", "right", 6), ("state", "left", 8))


def table(runs: List[Dict[str, Any]], width: int, height: int, hint: str = "", plan_eta: Optional[PlanEta] = None) -> Any:
    """The live table: one line per benchmark and one for all (its ETA the whole plan's when
    ``plan_eta`` is given), never wider than ``width`` nor taller than ``height`` lines (benchmarks
    beyond it are counted on one line)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    benches, overall = tallies(runs)
    grid = Table(show_edge=False, pad_edge=False, box=None, width=min(width, 100), show_header=True,
                 header_style="bold", collapse_padding=True)
    for name, justify, minimum in COLUMNS:
        grid.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis", min_width=minimum,
                        ratio=4 if name == "state" else None)
    room = max(1, height - 3 - (1 if hint else 0))  # header, overall line, hint, one line to spare
    shown = benches if len(benches) <= room else benches[: room - 1]
    for t in shown:
        grid.add_row(Text(t.name), f"{t.finished}/{t.runs}", t.rows(), f"{t.tok_s:.0f}", _eta(t.eta_s), t.state())
    if len(shown) < len(benches):
        rest = Tally(f"+{len(benches) - len(shown)} more")
        for t in benches[len(shown):]:
            rest.merge(t)
        grid.add_row(Text(rest.name), f"{rest.finished}/{rest.runs}", rest.rows(), f"{rest.tok_s:.0f}", _eta(rest.eta_s),
                     rest.state())
    eta = overall.eta_s if plan_eta is None else plan_eta.update(overall.done, overall.expected_total)
    grid.add_row(*(Text(cell, style="bold") for cell in (
        overall.name, f"{overall.finished}/{overall.runs}", overall.rows(), f"{overall.tok_s:.0f}",
        _eta(eta), overall.state())))
    if not hint:
        return grid
    return Group(grid, Text(hint, style="dim", no_wrap=True, overflow="ellipsis"))


class Display:
    def __init__(self, folder: Path, out: IO[str], expected: Iterable[str] = (), hint: str = "",
                 rows: Optional[Mapping[str, int]] = None, clock: Callable[[], float] = time.monotonic):
        self.folder = Path(folder)
        self.out = out
        self.expected = list(expected)
        self.rows = dict(rows or {})  # label -> rows, for runs that have not started (the plan's numbers)
        self.plan_eta = PlanEta(clock)
        self.hint = hint
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.interval = float(os.environ.get(INTERVAL_ENV, "30"))
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.live = None
        self.thread: Optional[threading.Thread] = None
        self.seen: Dict[str, str] = {}

    def __enter__(self) -> "Display":
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.out)
            self.live = Live(get_renderable=self._render, console=console, refresh_per_second=2, transient=False,
                             vertical_overflow="crop")
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
            self._print_changes()  # the final state of every benchmark

    def print(self, text: str) -> None:
        """A job's line, above the live table (or plainly)."""
        with self.lock:
            if self.live is not None:
                self.live.console.print(text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
            else:
                self.out.write(text)
                self.out.flush()

    def _render(self) -> Any:
        size = self.live.console.size if self.live is not None else None
        width, height = (size.width, size.height) if size else (80, 24)
        return table(read_runs(self.folder, self.expected, self.rows), width, max(4, height // 2), self.hint,
                     self.plan_eta)

    def _print_changes(self) -> None:
        runs = read_runs(self.folder, self.expected, self.rows)
        if not runs:
            return
        benches, overall = tallies(runs)
        eta = self.plan_eta.update(overall.done, overall.expected_total)
        changed = False
        for t in benches:
            line = plain_line(t)
            if self.seen.get(t.name) != line:
                self.seen[t.name] = line
                changed = True
                self.print(line + "\n")
        if changed and len(benches) > 1:
            self.print(plain_line(overall, eta) + "\n")

    def _plain_loop(self) -> None:
        while not self.stop_event.wait(self.interval):
            self._print_changes()
