"""JSONL files as the tests read and write them, and a lock for files that workers share."""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, List, Optional


def read_jsonl(path: Path, limit: Optional[int] = None) -> List[dict]:
    """The rows of a JSONL file (blank lines skipped); the first ``limit`` only when given."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows if limit is None else rows[:limit]


def write_jsonl(path: Path, rows: Iterable[dict]) -> Path:
    Path(path).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return Path(path)


@contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if missing): parallel test workers that would
    build the same model into .cache take turns, and the second finds it built."""
    Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
