"""The manifest of an output folder: which run wrote each file, with the settings of each run.

``<out>/manifests/<run>.json`` records one run (written by ``skills.pipeline.manifest`` when a plan
starts); ``<out>/manifest.json`` is the merged view: per benchmark its latest settings, per output
file the run that wrote it, and the row counts ``ns summarize_results`` adds. This module owns the
format, the lock several jobs share when updating it, and what readers ask of it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from skills.data.io import atomic_open

MANIFEST = "manifest.json"
RUNS = "manifests"
COMPARED = ("data", "prompt", "overrides", "model", "generation_module", "eval_type")


def sha256(path: str) -> Optional[str]:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def count_rows(path: str) -> Optional[int]:
    try:
        with open(path, "rb") as fh:
            return sum(1 for line in fh if line.strip())
    except OSError:
        return None


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Several jobs (Slurm metrics jobs) may update the merged manifest at once."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".{MANIFEST}.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def read(path: Path) -> Dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write(path: Path, data: Dict[str, Any]) -> None:
    with atomic_open(path) as fh:
        json.dump(data, fh, indent=2)


def find_root(bench_dir: Path) -> Optional[Path]:
    """The output folder whose manifest covers a benchmark folder (up to three levels up)."""
    for folder in [bench_dir, *list(bench_dir.parents)[:3]]:
        if (folder / MANIFEST).is_file():
            return folder
    return None


def record_rows(bench_dir: Path, files: Sequence[Path]) -> None:
    root = find_root(bench_dir)
    if root is None:
        return
    with locked(root):
        merged = read(root / MANIFEST)
        rows = merged.setdefault("rows", {})
        for f in files:
            rows[os.path.relpath(f, root)] = count_rows(str(f))
        write(root / MANIFEST, merged)


def mixed_settings(bench: str, bench_dir: Path, files: Sequence[Path]) -> List[str]:
    """Differences between the runs that wrote the given files of one benchmark (empty if one run)."""
    root = find_root(bench_dir)
    if root is None:
        return []
    merged = read(root / MANIFEST)
    runs: Dict[str, List[str]] = {}
    for f in files:
        run = (merged.get("files") or {}).get(os.path.relpath(f, root))
        if run:
            runs.setdefault(run, []).append(f.name)
    if len(runs) < 2:
        return []
    settings = {run: (read(root / RUNS / f"{run}.json").get("benchmarks") or {}).get(bench) or {} for run in runs}
    first, *others = list(runs)
    out = []
    for other in others:
        for key in COMPARED:
            a, b = settings[first].get(key), settings[other].get(key)
            if a != b and a is not None and b is not None:
                out.append(f"{key} differs between run {first} ({', '.join(runs[first])}) and run {other} "
                           f"({', '.join(runs[other])})")
    return out
