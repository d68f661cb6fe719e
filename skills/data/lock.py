"""Ownership locks: one run writes a given output (or log folder) at a time.

An exclusive ``flock`` on a small file next to what is owned. The kernel drops it when the holder
dies, however it dies, so a crashed run never blocks the next one; a second live run fails at once
with one line naming the holder (pid, host, start time), which the lock file records.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Optional

from skills.config.errors import UsageError


def lock_path(target: Path) -> Path:
    """``<dir>/.<name>.lock`` (hidden, and never mistaken for a result file)."""
    target = Path(target)
    return target.parent / f".{target.name}.lock"


class OwnerLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.fh = None

    def acquire(self, what: str) -> "OwnerLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            info = read_holder(self.path) or {}
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["started"])) if "started" in info else "?"
            raise UsageError(f"{what} is in use by another run (pid {info.get('pid', '?')} on host "
                             f"{info.get('host', '?')}, since {since}); wait for it to end or stop it") from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}))
        fh.flush()
        self.fh = fh
        return self

    def release(self) -> None:
        if self.fh is not None:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None

    def __enter__(self) -> "OwnerLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def read_holder(path: Path) -> Optional[dict]:
    try:
        data = json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_held(path: Path) -> bool:
    """Whether a live process holds the lock (False when the file is missing or the holder died)."""
    try:
        fh = open(path, "r")
    except OSError:
        return False
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return False
