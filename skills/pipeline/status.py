"""``ns status``: read the ``status.json`` a local run keeps (found by output dir, log dir or expname)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

from skills.config.errors import UsageError
from skills.pipeline.state import STATE_FILE, run_registry

def find_status(target: str) -> Optional[Path]:
    p = Path(target)
    if p.is_file() and p.name == STATE_FILE:
        return p
    if p.is_dir():
        for cand in [p / STATE_FILE, *sorted(p.glob(f"*-logs/{STATE_FILE}")), *sorted(p.glob(f"*/{STATE_FILE}"))]:
            if cand.is_file():
                return cand
    reg = run_registry(target)
    if reg.is_file():
        try:
            cand = Path(json.loads(reg.read_text())["status"])
        except (ValueError, KeyError):
            return None
        return cand if cand.is_file() else None
    return None


def show_progress(status_path: Path, benchmark: Optional[str] = None) -> int:
    """Every generation run of a local run (seeds in numeric order), from its progress files."""
    from skills.pipeline.executors.display import plain_line, read_runs, run_line, split_label, tallies

    folder = status_path.parent / "progress"
    runs = read_runs(folder) if folder.is_dir() else []
    if benchmark:
        names = sorted({split_label(str(r["label"]))[0] for r in runs})
        runs = [r for r in runs if split_label(str(r["label"]))[0] in (benchmark, f"{benchmark} judge")]
        if not runs:
            raise UsageError(f"no progress of benchmark '{benchmark}' in {folder} (it has: {', '.join(names) or 'none'})")
    if not runs:
        print(f"no generation progress recorded in {folder}")
        return 0
    for run in runs:
        print(run_line(run))
    benches, overall = tallies(runs)
    print()
    for t in benches + ([overall] if len(benches) > 1 else []):
        print(plain_line(t)[len("progress: "):])
    return 0


def show_status(target: str, as_json: bool = False, cluster=None, progress: bool = False,
                benchmark: Optional[str] = None) -> int:
    """Local runs: their status.json; otherwise the Slurm experiment of that name (via nemo-run)."""
    path = find_status(target)
    if path is not None and (progress or benchmark):
        return show_progress(path, benchmark)
    if path is None:
        if os.sep in target or Path(target).exists():
            raise UsageError(f"no {STATE_FILE} of a local run in {target} (nor in its *-logs folders)")
        return _show_slurm(target, as_json, cluster)
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("jobs", {}), dict):
            raise ValueError("not a mapping with 'jobs'")
    except ValueError as exc:
        raise UsageError(f"{path} is not a valid status file ({exc})") from None
    data = json.loads(path.read_text())
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    jobs = data.get("jobs", {})
    width = max([len(n) for n in jobs] + [3])
    dead = _launcher_gone(path, jobs)
    print(f"{data.get('expname')} ({path})" + ("  -- its ns process is gone: the run was interrupted" if dead else ""))
    for name, info in jobs.items():
        state = info.get("state", "?")
        if dead and state in ("running", "pending"):
            state = "interrupted" if state == "running" else "not run"
        line = f"  {name:<{width}}  {state:<8}  {info.get('log', '')}"
        if info.get("reason"):
            line += f"  ({info['reason'].splitlines()[0]})"
        print(line)
    return 0


def _launcher_gone(status_path: Path, jobs: dict) -> bool:
    """A local run whose jobs still read running/pending but whose ns process holds no lock: dead."""
    from skills.data.lock import is_held
    from skills.pipeline.executors.local import RUN_LOCK

    unfinished = any(info.get("state") in ("running", "pending") for info in jobs.values())
    lock = status_path.parent / RUN_LOCK
    return unfinished and lock.exists() and not is_held(lock)


def _show_slurm(target: str, as_json: bool, cluster) -> int:
    try:
        from skills.pipeline.executors.slurm import format_status, status as slurm_status
    except ImportError:
        raise UsageError(f"no run found for '{target}' (give its output dir, log dir or experiment "
                         "name; Slurm experiments need nemo-run: pip install 'skills[slurm]')") from None
    rows = slurm_status(target, cluster)
    if as_json:
        sys.stdout.write(json.dumps([r._asdict() for r in rows], indent=2) + "\n")
    else:
        print(format_status(rows))
    return 0
