"""Crash-safe incremental output: an append-only journal plus an atomic final file.

Finished rows go to ``<output>-async`` as soon as they complete (any order), each carrying its
input index. Lines are written in batches followed by flush + fsync, so a ``kill -9`` loses at most
the batch in flight; a half-written last line is cut off on reopen (before new lines are appended
after it). ``finalize`` writes ``<output>`` in input order, each index exactly once, via temp file
+ rename, and only then removes the journal: at every instant either the final file is absent or
it is complete.

The journal's first line records the run's ``Fingerprint`` (input file, prompts, settings; see
``GenerationTask.fingerprint``). A resume with a different fingerprint is refused
(``ResumeRefused``, naming what changed) instead of mixing rows made from different inputs. A
journal is only created by its first write, so a run that fails before finishing a row leaves the
files it found untouched (``before_first_write`` moves the previous results of a rerun aside).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

from skills.config.errors import UsageError
from skills.config.fingerprint import Fingerprint
from skills.data.io import atomic_write_lines, fsync_dir
from skills.data.io import dumps, loads

HEADER = "_journal"  # key of the journal's first line: {"_journal": {"version": 1, "fingerprint": {...}}}


def journal_path(output: Path) -> Path:
    return Path(f"{output}-async")


def _journal_lines(path: Path, key: str) -> Iterator[Tuple[int, int, dict]]:
    """(input index, byte offset, row without the index) of every whole line; a torn trailing line
    (crash mid-write) ends it, a damaged line is skipped (counts as not generated)."""
    if not path.exists():
        return
    with open(path, "rb") as fh:
        offset = 0
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # torn last line
            at, offset = offset, offset + len(raw)
            try:
                row = loads(raw)
                idx = int(row.pop(key))
            except (ValueError, TypeError, KeyError, AttributeError):
                continue
            yield idx, at, row


def read_journal(path: Path, key: str) -> Dict[int, dict]:
    """Rows by input index (the first line of an index wins)."""
    rows: Dict[int, dict] = {}
    for idx, _, row in _journal_lines(path, key):
        rows.setdefault(idx, row)
    return rows


def journal_offsets(path: Path, key: str) -> Dict[int, int]:
    """Byte offset of each index's first line: what is done, without holding the rows in memory."""
    offsets: Dict[int, int] = {}
    for idx, at, _ in _journal_lines(path, key):
        offsets.setdefault(idx, at)
    return offsets


class ResumeRefused(UsageError):
    """The journal's rows were made from other inputs or settings than this run's."""


def read_header(path: Path) -> Optional[dict]:
    """The journal's header record (None for a journal without one, written by an older version)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline()
    except OSError:
        return None
    if not first.endswith(b"\n"):
        return None
    try:
        record = loads(first)
    except ValueError:
        return None
    header = record.get(HEADER) if isinstance(record, dict) else None
    return header if isinstance(header, dict) else None


def resume_refusal(path: Path, key: str, fingerprint: Optional[Fingerprint],
                   rows: Optional[int] = None) -> Optional[str]:
    """Why the journal at ``path`` must not be resumed by a run with ``fingerprint`` (one line naming
    what changed and the ways on), or None. Reads only: a live run may be appending to it."""
    if fingerprint is None or not path.exists():
        return None
    header = read_header(path)
    recorded = Fingerprint.from_dict(header.get("fingerprint")) if header else None
    if recorded is None or not recorded.changes(fingerprint):
        return None
    if rows is None:
        rows = len(journal_offsets(path, key))
        if not rows:
            return None
    return (f"cannot resume {path} ({rows} finished rows): {recorded.describe_changes(fingerprint)} since they were "
            "generated; rerun with --rerun_done (++skip_filled=False) to regenerate every row, or restore the "
            "previous input and settings to resume")


class Journal:
    """Append-only ``<output>-async``; ``add`` buffers, ``flush`` writes + fsyncs a batch.

    ``fingerprint``: recorded in the first line of a new journal and compared on resume."""

    def __init__(self, output: Path, key: str, fingerprint: Optional[Fingerprint] = None):
        self.path = journal_path(output)
        self.key = key
        self.fingerprint = fingerprint
        self.buffer: List[bytes] = []
        self.fh = None
        self.unchecked = False  # resumed a journal that records no fingerprint
        self.before_first_write: Optional[Callable[[], None]] = None

    def open(self, resume: bool = True) -> Set[int]:
        """The indices already generated. ``resume``: continue the existing journal (cut a torn
        tail; ``ResumeRefused`` when its fingerprint differs); else start a new one, created by the
        first ``flush`` (until then the existing files stay as they are)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not resume or not self.path.exists():
            return set()
        with open(self.path, "rb+") as fh:
            data = fh.read()
            end = data.rfind(b"\n") + 1
            if end != len(data):
                fh.truncate(end)
                fh.flush()
                os.fsync(fh.fileno())
        done = set(journal_offsets(self.path, self.key))
        if not done:
            return set()  # nothing to keep: the first flush starts it anew
        self.unchecked = read_header(self.path) is None
        refusal = resume_refusal(self.path, self.key, self.fingerprint, len(done))
        if refusal:
            raise ResumeRefused(refusal)
        self.fh = open(self.path, "ab")
        return done

    def add(self, index: int, row: Dict[str, Any]) -> None:
        self.buffer.append(dumps({**row, self.key: index}) + b"\n")

    def _create(self) -> None:
        if self.before_first_write is not None:
            self.before_first_write()
            self.before_first_write = None
        self.fh = open(self.path, "wb")
        header = {"version": 1}
        if self.fingerprint is not None:
            header["fingerprint"] = self.fingerprint.to_dict()
        self.fh.write(dumps({HEADER: header}) + b"\n")

    def flush(self) -> None:
        if not self.buffer:
            return
        if self.fh is None:
            self._create()
        self.fh.write(b"".join(self.buffer))
        self.buffer.clear()
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self, quiet: bool = False) -> None:
        """Flush and close; ``quiet`` ignores a failing flush (another error is being reported)."""
        try:
            self.flush()
        except OSError:
            if not quiet:
                raise
        finally:
            if self.fh is not None:
                self.fh.close()
                self.fh = None


def finalize(output: Path, key: str, total: int, journal: Optional[Path] = None) -> int:
    """Write ``output`` in input order from the journal, then delete the journal.

    Raises RuntimeError if an index is missing (the caller must not mark the run done).
    """
    journal = journal or journal_path(output)
    offsets = journal_offsets(journal, key)
    missing = [i for i in range(total) if i not in offsets]
    if missing:
        raise RuntimeError(f"{journal}: {len(missing)} of {total} rows missing (e.g. index {missing[0]})")

    def ordered(fh) -> Iterator[bytes]:  # one row in memory at a time, whatever the input's size
        for i in range(total):
            fh.seek(offsets[i])
            row = loads(fh.readline())
            row.pop(key)
            yield dumps(row) + b"\n"

    with open(journal, "rb") as fh:
        atomic_write_lines(output, ordered(fh))
    journal.unlink()
    fsync_dir(output.parent)
    return total
