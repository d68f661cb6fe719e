"""Confinement for a long-lived helper process that runs untrusted strings (e.g. BFCL's simulated
tool environments, which ``eval()`` model-chosen function names): the same exec chain as one
sandbox execution (namespaces, read-only filesystem, hidden ``$HOME``, no network), without the
per-execution wall/CPU budget, in a work dir the caller keeps for the process's life.

The same rules as for executions: as root the process runs as a throwaway uid, held until
``release()``, never as uid 0 unless ``SKILLS_SANDBOX_ALLOW_ROOT=1`` (then ``as_root``); ``env``
(the caller's own settings, e.g. ``PYTHONPATH``) is set for the process only, after the uid drop.
``read_only`` re-exposes host folders it must import code from; where no mount can do that (no
bubblewrap) they must be readable by other users, else ``confine`` stops with one line.
"""

from __future__ import annotations

import os
from typing import List, Mapping, Optional, Sequence

from skills.config.errors import UsageError
from skills.sandbox import procs
from skills.sandbox.launcher import build_argv, build_env
from skills.sandbox.mirror import reachable
from skills.sandbox.probe import detect
from skills.sandbox.types import Limits
from skills.sandbox.uids import claim_uid
from skills.sandbox.workdir import remove_files_of

# hours, not seconds: the process serves a whole job; the executor above it bounds each request
LONG_LIVED = Limits(cpu_s=None, wall_s=7 * 24 * 3600, memory_mb=8192, max_processes=256,
                    max_file_mb=1024, max_open_files=1024)


class Confined:
    """How to start the confined process (``argv``, ``env``, ``cwd`` for Popen), and what it gets."""

    def __init__(self, argv: List[str], env: dict, cwd: str, isolation: str, as_root: bool,
                 uid: Optional[int] = None, lock: Optional[int] = None, filesystem: bool = False,
                 pids: bool = False):
        self.argv, self.env, self.cwd = argv, env, cwd
        self.isolation = isolation  # bwrap | unshare | none
        self.as_root = as_root  # only with SKILLS_SANDBOX_ALLOW_ROOT=1
        self.uid = uid
        self._lock, self._filesystem, self._pids = lock, filesystem, pids

    def release(self) -> None:
        """Once the process has ended: kill what it left running, remove its files from the shared
        temporary folders, and give its uid back."""
        if self._lock is None:
            return
        if not self._pids:
            procs.sweep_uid(self.uid)
        if not self._filesystem:
            remove_files_of(self.uid)
        os.close(self._lock)
        self._lock = None


def confine(argv: Sequence[str], workdir: str, python: Optional[str] = None, read_only: Sequence[str] = (),
            env: Optional[Mapping[str, str]] = None, limits: Limits = LONG_LIVED) -> Confined:
    """``argv`` (its first item the interpreter unless ``python`` says otherwise) ready for Popen.
    ``workdir``: an empty folder of the caller's, removed by the caller after ``release()``."""
    iso = detect(python or argv[0])
    if iso.drop_uid and not iso.filesystem:
        hidden = [p for p in read_only if not reachable(p)]
        if hidden:
            raise UsageError(f"the confined process cannot read {hidden[0]}: without bubblewrap it runs as a "
                             "throwaway uid, so that folder must be readable by other users (or install bubblewrap)")
    command = list(argv) if python else [iso.python, *argv[1:]]
    uid, lock = claim_uid() if iso.drop_uid else (None, None)
    try:
        os.chmod(workdir, 0o711)
        cwd = os.path.join(workdir, "work")  # its own folder, in one it cannot rename or replace
        os.makedirs(cwd, mode=0o700, exist_ok=True)
        if os.path.islink(cwd) or not os.path.isdir(cwd):
            raise UsageError(f"{cwd} is not a folder")
        if uid is not None:
            os.chown(cwd, uid, uid)
            procs.sweep_uid(uid)  # left behind by a crashed previous holder
        full = build_argv(iso, limits, cwd, command, uid, tuple(read_only), env)
    except BaseException:
        if lock is not None:
            os.close(lock)
        raise
    return Confined(full, build_env(iso, cwd, limits), cwd, iso.mode, iso.as_root, uid, lock, iso.filesystem,
                    iso.pids)


__all__ = ["LONG_LIVED", "Confined", "confine"]
