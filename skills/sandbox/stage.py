"""The compiled stage (``stage.c``): resource limits, the uid drop, no_new_privs and the program's
exec in one small static program, where the chain otherwise runs ``prlimit``, ``setpriv`` and a
shell (about 3 ms of CPU per execution between them, as much as the rest of the chain but
bubblewrap).

It is built on first use with the machine's C compiler into the store the interpreter mirrors use
(root's own, not writable by others: as root it runs before the uid drop), one folder per version
of the source, built in a temporary folder and renamed into place. Where there is no compiler, no
usable store, or ``SKILLS_SANDBOX_STAGE=sh``, the chain keeps the util-linux tools and the shell
stage; the probe tries the compiled stage first and falls back to those if it fails.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from typing import Dict, Optional

from skills.config.errors import UsageError
from skills.sandbox import mirror

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stage.c")
STAGE_ENV = "SKILLS_SANDBOX_STAGE"  # "sh": never compile the stage (use prlimit, setpriv and sh)
NAME = "skills-sandbox-stage"
BUILD_TIMEOUT_S = 120.0
COMPILERS = ("cc", "gcc", "clang")

_lock = threading.Lock()
_built: Dict[str, Optional[str]] = {}  # store -> the stage in it (None: cannot be built there)


def wanted() -> bool:
    value = os.environ.get(STAGE_ENV, "").strip() or "auto"
    if value not in ("auto", "sh"):
        raise UsageError(f"{STAGE_ENV}={value!r}: expected auto or sh")
    return value == "auto"


def compiled() -> Optional[str]:
    """The compiled stage for this machine (built once per store and source), or None."""
    if not wanted():
        return None
    with _lock:
        store = mirror.store()
        if store not in _built:
            try:
                _built[store] = _build()
            except (OSError, mirror.MirrorError, subprocess.SubprocessError):
                _built[store] = None
        return _built[store]


def _ours(path: str) -> bool:
    """Not a link, owned by root or us, and not writable by others (the store is checked too)."""
    info = os.lstat(path)
    return not stat.S_ISLNK(info.st_mode) and info.st_uid in (0, os.geteuid()) and not info.st_mode & 0o022


def _build() -> Optional[str]:
    compiler = next((found for found in map(shutil.which, COMPILERS) if found), None)
    with open(SOURCE, "rb") as fh:
        key = hashlib.sha256(fh.read()).hexdigest()[:16]
    base = mirror.checked_store()
    folder = os.path.join(base, f"stage-{key}")
    binary = os.path.join(folder, NAME)
    if os.path.lexists(binary):
        return binary if _ours(folder) and _ours(binary) else None
    if compiler is None:
        return None
    tmp = tempfile.mkdtemp(prefix=".build-", dir=base)  # removed when stale, like the mirrors' builds
    try:
        out = os.path.join(tmp, NAME)
        for flags in (["-static"], []):  # static: no dynamic loader at every execution
            done = subprocess.run([compiler, "-O2", *flags, "-o", out, SOURCE], capture_output=True,
                                  timeout=BUILD_TIMEOUT_S, cwd=tmp)
            if done.returncode == 0:
                break
        else:
            return None
        os.chmod(out, 0o755)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process built it first
            if not os.path.isfile(binary):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return binary


__all__ = ["STAGE_ENV", "compiled", "wanted"]
