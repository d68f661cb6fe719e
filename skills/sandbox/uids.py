"""Throwaway uids for executions when the sandbox runs as root.

Each uid is held by one slot of one process at a time, claimed with a lock file: two graders on one
machine must never share a uid, since "every process of this uid" is what gets killed after a
timeout, and RLIMIT_NPROC counts per uid. The lock dies with its process, so a crashed holder's uid
becomes free again (and its next holder kills whatever the crashed one left behind).
"""

from __future__ import annotations

import fcntl
import os
import stat
from typing import Tuple

UID_BASE = 100_000_000
UID_COUNT = 1_000_000
LOCK_DIR = "/tmp/skills-sandbox-uids"  # one fixed place, whatever $TMPDIR each process has


def claim_uid() -> Tuple[int, int]:
    """(uid, lock fd): the lowest free throwaway uid; close the fd to give it back."""
    _check_lock_dir()
    for uid in range(UID_BASE, UID_BASE + UID_COUNT):
        fd = os.open(os.path.join(LOCK_DIR, str(uid)), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if _still_used(uid):  # processes its last holder left are still dying: take another one
            os.close(fd)
            continue
        return uid, fd
    raise RuntimeError("no free throwaway uid for the sandbox")


def _still_used(uid: int) -> bool:
    """A process of ``uid`` (zombies included) exists: RLIMIT_NPROC would count it against the next
    holder's programs, which could then fail to start (EAGAIN) under a loaded machine."""
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    return True
            except OSError:
                pass
    return False


def is_throwaway(uid: int) -> bool:
    return UID_BASE <= uid < UID_BASE + UID_COUNT


def _check_lock_dir() -> None:
    """The lock folder is in /tmp, where programs at weaker levels can write: one that someone
    else made (to steer which uids we think are free) is refused, never used."""
    try:
        os.mkdir(LOCK_DIR, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(LOCK_DIR)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise RuntimeError(f"{LOCK_DIR} is not a private folder of this user (made by someone else?): remove it")
