"""Where local runs keep their state: the folder of runs without an output folder, each run's
``status.json`` and the registry that finds a run's status by its experiment name (``ns status``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

STATE_FILE = "status.json"  # <log_dir>/status.json: job -> state and logs of a local run


def state_dir() -> Path:
    """Where runs without an output folder keep logs (``$SKILLS_STATE_DIR``, else ~/.cache/skills/runs)."""
    base = os.environ.get("SKILLS_STATE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "skills", "runs")
    return Path(base)


def run_registry(expname: str) -> Path:
    """Where the last run of ``expname`` is remembered."""
    return state_dir() / f"{expname}.json"


def register_run(expname: str, status_path: Path) -> None:
    """Remember where the last run of ``expname`` keeps its status (for ``ns status <expname>``)."""
    path = run_registry(expname)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"status": str(Path(status_path).resolve())}))
    except OSError:
        pass  # a read-only home must not fail the run
