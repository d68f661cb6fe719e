"""Crash-safe incremental output: an append-only journal plus an atomic final file.

Finished rows go to ``<output>-async`` as soon as they complete (any order), each carrying its
input index. Lines are written in batches followed by flush + fsync, so a ``kill -9`` loses at most
the batch in flight; a half-written last line is cut off on reopen (before new lines are appended
after it). ``finalize`` writes ``<output>`` in input order, each index exactly once, via temp file
+ rename, and only then removes the journal: at every instant either the final file is absent or
it is complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set

from skills.data.io import atomic_open, fsync_dir
from skills.inference.client import dumps, loads


def journal_path(output: Path) -> Path:
    return Path(f"{output}-async")


def done_path(output: Path) -> Path:
    return Path(f"{output}.done")


def atomic_write_lines(path: Path, lines: Iterable[bytes]) -> int:
    """Write byte lines (each ending in newline) to ``path`` atomically; returns the count."""
    count = 0
    with atomic_open(path, "wb") as fh:
        for line in lines:
            fh.write(line)
            count += 1
    return count


def touch_done(output: Path) -> None:
    """The completion marker, itself written atomically."""
    atomic_write_lines(done_path(output), [])


def read_journal(path: Path, key: str) -> Dict[int, dict]:
    """Rows by input index; a torn trailing line (crash mid-write) is ignored."""
    rows: Dict[int, dict] = {}
    if not path.exists():
        return rows
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # torn last line
            try:
                row = loads(raw)
                idx = int(row.pop(key))
            except (ValueError, TypeError, KeyError):
                continue  # a damaged line counts as not generated
            rows.setdefault(idx, row)
    return rows


class Journal:
    """Append-only ``<output>-async``; ``add`` buffers, ``flush`` writes + fsyncs a batch."""

    def __init__(self, output: Path, key: str):
        self.path = journal_path(output)
        self.key = key
        self.buffer: List[bytes] = []
        self.fh = None

    def open(self) -> Set[int]:
        """Cut any torn tail, open for appending; returns the indices already generated."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            with open(self.path, "rb+") as fh:
                data = fh.read()
                end = data.rfind(b"\n") + 1
                if end != len(data):
                    fh.truncate(end)
                    fh.flush()
                    os.fsync(fh.fileno())
        done = set(read_journal(self.path, self.key))
        self.fh = open(self.path, "ab")
        return done

    def add(self, index: int, row: Dict[str, Any]) -> None:
        self.buffer.append(dumps({**row, self.key: index}) + b"\n")

    def flush(self) -> None:
        if self.buffer and self.fh is not None:
            self.fh.write(b"".join(self.buffer))
            self.buffer.clear()
            self.fh.flush()
            os.fsync(self.fh.fileno())

    def close(self, quiet: bool = False) -> None:
        """Flush and close; ``quiet`` ignores a failing flush (another error is being reported)."""
        if self.fh is not None:
            try:
                self.flush()
            except OSError:
                if not quiet:
                    raise
            finally:
                self.fh.close()
                self.fh = None


def finalize(output: Path, key: str, total: int, journal: Optional[Path] = None) -> int:
    """Write ``output`` in input order from the journal, then delete the journal.

    Raises RuntimeError if an index is missing (the caller must not mark the run done).
    """
    journal = journal or journal_path(output)
    rows = read_journal(journal, key)
    missing = [i for i in range(total) if i not in rows]
    if missing:
        raise RuntimeError(f"{journal}: {len(missing)} of {total} rows missing (e.g. index {missing[0]})")
    atomic_write_lines(output, (dumps(rows[i]) + b"\n" for i in range(total)))
    journal.unlink()
    fsync_dir(output.parent)
    return total
