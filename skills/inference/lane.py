"""Generation programs one after the other in one process: a lane of an ``ns`` job talking to an API.

    python -m skills.inference.lane --run MODULE TOKEN... --run MODULE TOKEN...

Each run does what ``python -m MODULE TOKEN...`` does (``MODULE`` a module, or a path to a script):
its own config, files, journal, grading and exit code. Only the imports (aiohttp, Hydra, the
program's modules: about half a second of CPU each time) are paid once per lane instead of once per
run, which is most of the cost of a small run (an AIME seed is 30 requests). A run that fails does
not stop the next; the lane exits 1 if any failed. Interrupted (Ctrl-C, SIGTERM), it stops at once:
the run in progress keeps its journal and resumes as it would alone.
"""

from __future__ import annotations

import runpy
import signal
import sys
import traceback
import warnings
from typing import List, Optional, Sequence, Tuple

RUN = "--run"


def lane_argv(programs: Sequence[Sequence[str]]) -> Optional[List[str]]:
    """One lane command for several ``python [-m] TARGET TOKEN...`` argv, or None when one of them
    cannot be passed through (another interpreter, a ``--run`` token)."""
    out = ["python", "-m", "skills.inference.lane"]
    for argv in programs:
        if not argv or argv[0] != "python":
            return None
        target, tokens = (argv[2], argv[3:]) if argv[1:2] == ["-m"] else (argv[1], argv[2:])
        if RUN in tokens:
            return None
        out += [RUN, target, *tokens]
    return out


def split_runs(argv: Sequence[str]) -> List[Tuple[str, List[str]]]:
    if not argv or argv[0] != RUN:
        raise SystemExit(f"usage: python -m skills.inference.lane {RUN} MODULE TOKEN... [{RUN} MODULE TOKEN...]")
    runs: List[Tuple[str, List[str]]] = []
    for tok in argv:
        if tok == RUN:
            runs.append(("", []))
        elif not runs[-1][0]:
            runs[-1] = (tok, [])
        else:
            runs[-1][1].append(tok)
    if any(not target for target, _ in runs):
        raise SystemExit(f"{RUN} without a module")
    return runs


def run_one(target: str, tokens: Sequence[str]) -> int:
    """``python -m target tokens...`` in this process; its exit code."""
    sys.argv = [target, *tokens]
    try:
        with warnings.catch_warnings():  # runpy's note that the module was imported by an earlier run
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="runpy")
            if target.endswith(".py") or "/" in target:
                runpy.run_path(target, run_name="__main__")
            else:
                runpy.run_module(target, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    return 0


INTERRUPTED = 130  # what a program returns when interrupted


class _Signals:
    """SIGTERM (the executor stopping the job) interrupts the run like Ctrl-C, and either stops the lane."""

    def __init__(self) -> None:
        self.received = False
        signal.signal(signal.SIGTERM, self.handle)
        signal.signal(signal.SIGINT, self.handle)

    def handle(self, signum, frame) -> None:
        self.received = True
        raise KeyboardInterrupt


def main(argv: Optional[Sequence[str]] = None) -> int:
    runs = split_runs(list(sys.argv[1:] if argv is None else argv))
    signals = _Signals()
    failed = []
    for target, tokens in runs:
        try:
            code = run_one(target, tokens)
        except KeyboardInterrupt:
            return INTERRUPTED
        except Exception:  # a bug in one run: said, and the next run goes on
            traceback.print_exc()
            code = 1
        if signals.received:
            return INTERRUPTED
        if code:
            failed.append(f"{target} ({next((t for t in tokens if t.startswith('++output_file=')), '')}) exit {code}")
    if failed:
        print(f"lane: {len(failed)} of {len(runs)} runs failed: " + "; ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
