"""JSONL files as the tests read and write them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, List, Optional


def read_jsonl(path: Path, limit: Optional[int] = None) -> List[dict]:
    """The rows of a JSONL file (blank lines skipped); the first ``limit`` only when given."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows if limit is None else rows[:limit]


def write_jsonl(path: Path, rows: Iterable[dict]) -> Path:
    Path(path).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return Path(path)
