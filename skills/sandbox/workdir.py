"""Work dirs of executions, and removing what programs leave behind without trusting it.

A work dir is ``$TMPDIR/skills-sandbox-<pid>-<random>/work``: the outer folder is ours (0711), the
inner one the program's (owned by its throwaway uid when running as root). A program can therefore
not rename or replace its own folder with a link (in a sticky /tmp it could, being its owner),
and removal never follows a link a program planted: folders are opened with ``O_NOFOLLOW``
before their mode is changed, and ``shutil.rmtree`` removes links, not what they point to.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from typing import Optional

from skills.sandbox.launcher import within
from skills.sandbox.uids import is_throwaway

PREFIX = "skills-sandbox-"
# World-writable folders a program at a level without a private filesystem can leave files in.
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")


class WorkDir:
    """``with WorkDir(uid) as path:`` a fresh, empty folder for one program; removed afterwards."""

    def __init__(self, uid: Optional[int] = None, tag: str = ""):
        self.uid, self.tag = uid, tag
        self.outer = self.path = ""

    def __enter__(self) -> str:
        self.outer = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-{self.tag}")
        os.chmod(self.outer, 0o711)  # others may pass through to their folder, not list or rename
        self.path = os.path.join(self.outer, "work")
        os.mkdir(self.path, 0o700)
        if self.uid is not None:
            os.chown(self.path, self.uid, self.uid)
        return self.path

    def __exit__(self, *_exc) -> None:
        remove_tree(self.outer)


def _open_up(folder: str) -> None:
    """chmod 0700 a folder a program made read-only, never through a symbolic link."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        os.fchmod(fd, 0o700)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_tree(path: str) -> None:
    """Remove ``path`` and everything in it; a link is removed, never followed."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return

    def retry(func, p, _exc):  # a program may have chmod-ed its own folders read-only
        for folder in (os.path.dirname(p), p):
            if within(folder, path):
                _open_up(folder)
        try:
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=retry)


def reap_stale(tmp: Optional[str] = None) -> None:
    """Remove work dirs left by processes that died mid-execution (SIGKILL, a Slurm time limit):
    only real folders of ours whose process is gone."""
    tmp = tmp or tempfile.gettempdir()
    for name in os.listdir(tmp):
        parts = name.split("-")
        if not (name.startswith(PREFIX) and len(parts) > 3 and parts[2].isdigit()):
            continue
        path = os.path.join(tmp, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not os.path.exists(f"/proc/{parts[2]}"):
            remove_tree(path)


def remove_files_of(uid: int) -> None:
    """After a run without a private filesystem: what the throwaway ``uid`` left in the shared
    temporary folders (its next execution, maybe another model's program, must not find it)."""
    if not is_throwaway(uid):
        raise ValueError(f"uid {uid} is not a throwaway uid")
    for folder in dict.fromkeys((*SHARED_TMP, tempfile.gettempdir())):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            try:
                if os.lstat(path).st_uid == uid:
                    remove_tree(path)
            except OSError:
                pass
