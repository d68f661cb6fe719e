"""A world-readable mirror of an interpreter that the throwaway uid cannot read.

A venv or pyenv under root's 0700 home (the default layout of a container) cannot run as another
uid. With bubblewrap its folders are mounted back into an empty home; without it, this module
gives the sandbox a runnable copy instead: the interpreter's prefixes recreated under a root-owned
store (folders 0755, files hard-linked where they are already readable by all and not writable by
all, else copied),
symlinks and a venv's ``pyvenv.cfg`` pointed at the mirrored folders. Nothing in it is writable by
programs, so one execution cannot plant code for the next.

Only prefixes are mirrored (never other ``sys.path`` folders such as a project's sources, and never a
home or system folder itself), and site-packages folders the interpreter does not import from are
left out. A mirror is keyed by what it copies (paths, modification times of the folders and their
site-packages), built in a temporary folder and renamed into place: concurrent builders and a later
``pip install`` are safe. ``rm -rf /var/cache/skills-sandbox`` reclaims the space.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from skills.sandbox.launcher import SYSTEM_DIRS, home_folders, outermost, within

STORE_ENV = "SKILLS_SANDBOX_MIRROR_DIR"
DEFAULT_STORE = "/var/cache/skills-sandbox/python"
STALE_BUILD_S = 3600.0
_VERSION = "1"


class MirrorError(RuntimeError):
    """The interpreter cannot be mirrored here (the reason is the message)."""


@dataclass(frozen=True)
class Mirror:
    folder: str  # the store folder of this mirror
    roots: Tuple[str, ...]  # host folders mirrored, at folder + host path
    python: str  # the interpreter inside
    library_path: Optional[str] = None  # for a libpython that the executable finds by absolute RUNPATH

    def map(self, path: str) -> str:
        """Where a host path of the interpreter lies in the mirror (unchanged outside it)."""
        return self.folder + path if any(within(path, r) for r in self.roots) else path


def store() -> str:
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


def reachable(path: str) -> bool:
    """Whether a uid that is neither the owner nor in the group can reach and read ``path``."""
    for candidate in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
        parts = candidate.strip("/").split("/")
        for i in range(len(parts)):
            folder = "/" + "/".join(parts[:i])
            try:
                if not os.stat(folder).st_mode & stat.S_IXOTH:
                    return False
            except OSError:
                return False
        try:
            mode = os.stat(candidate).st_mode
        except OSError:
            return False
        if not mode & stat.S_IROTH or (stat.S_ISDIR(mode) and not mode & stat.S_IXOTH):
            return False
    return True


def writable_by_others(path: str) -> bool:
    """Any user may write it, a throwaway uid included (it is in no group; a sticky folder such as
    /tmp only lets others add their own files)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IWOTH) and not (stat.S_ISDIR(mode) and mode & stat.S_ISVTX)


def changeable(python: str, paths: Sequence[str]) -> bool:
    """Whether other users could change the interpreter or one of its folders (a program could
    then plant code for the next)."""
    folders = [p for p in paths if os.path.isdir(p)]
    return any(writable_by_others(p) for p in [python, os.path.realpath(python), *folders])


def needed(python: str, paths: Sequence[str]) -> bool:
    """Whether another uid could not read the interpreter or one of its folders, or could change one."""
    folders = [p for p in paths if os.path.isdir(p)]
    return not all(reachable(p) for p in [python, *folders]) or changeable(python, folders)


def mirror(python: str, info: Sequence[str]) -> Mirror:
    """The mirror of ``python`` (built once; ``info``: the probe's prefixes, executable and sys.path)."""
    sys_path = [p for p in info[5:] if os.path.isabs(p)]
    bases = [os.path.abspath(p) for p in dict.fromkeys((info[1], info[3])) if os.path.isdir(p)]
    venvs = [os.path.abspath(p) for p in dict.fromkeys((info[0], info[2])) if os.path.isdir(p)]
    venvs = [p for p in venvs if p not in bases]

    def bad(prefix: str) -> bool:  # unreadable or changeable by others, itself or what it holds
        inside = [prefix, *[p for p in (python, *sys_path) if within(p, prefix) and os.path.exists(p)]]
        return not all(reachable(p) for p in inside) or changeable(python if within(python, prefix) else prefix,
                                                                    inside)

    roots = [p for p in bases if bad(p)]
    roots += [p for p in venvs if roots or bad(p)]  # a venv names its base: it moves along
    roots = outermost(roots)
    if not roots:
        raise MirrorError("nothing to mirror: the interpreter's folders are readable and not changeable by others")
    for root in roots:
        if root == "/" or any(within(s, root) or within(root, s) for s in SYSTEM_DIRS) \
                or any(within(h, root) for h in home_folders()):
            raise MirrorError(f"will not mirror {root} (a system or home folder)")
    target = python if any(within(python, r) for r in roots) else os.path.realpath(python)
    if not any(within(target, r) for r in roots):
        raise MirrorError(f"{python} lies outside its own prefixes {roots}")
    base = checked_store()
    key = _fingerprint(roots, sys_path)
    folder = os.path.join(base, key)
    if not os.path.isdir(folder):
        _build(base, folder, roots, sys_path)
    lib = os.path.join(info[1], "lib")
    has_libpython = os.path.isdir(lib) and any(n.startswith("libpython") for n in os.listdir(lib))
    library = folder + lib if has_libpython and any(within(lib, r) for r in roots) else None
    return Mirror(folder, tuple(roots), folder + target, library)


def checked_store() -> str:
    """The store, made if missing; refused unless only its owner (this user) could have changed it
    or any folder above it (a sticky folder such as /tmp is fine)."""
    base = os.path.abspath(store())
    os.makedirs(base, mode=0o755, exist_ok=True)
    if os.path.realpath(base) != base:
        raise MirrorError(f"{base} must not be or lie under a symbolic link")
    if not reachable(base):
        raise MirrorError(f"other users cannot reach the mirror store {base}")
    folder = base
    while True:
        info = os.lstat(folder)
        sticky_above = folder != base and info.st_mode & stat.S_ISVTX
        if info.st_uid not in (0, os.geteuid()) or (info.st_mode & 0o022 and not sticky_above):
            raise MirrorError(f"{folder} may be changed by other users: the mirror store {base} is unsafe")
        if folder == "/":
            return base
        folder = os.path.dirname(folder)


def _site_folders(sys_path: Sequence[str]) -> List[str]:
    return [p for p in sys_path if os.path.basename(p) in ("site-packages", "dist-packages") and os.path.isdir(p)]


def _fingerprint(roots: Sequence[str], sys_path: Sequence[str]) -> str:
    times = {p: os.stat(p).st_mtime_ns for p in [*roots, *_site_folders(sys_path)]}
    configs = {r: _read(os.path.join(r, "pyvenv.cfg")) for r in roots}
    blob = json.dumps([_VERSION, list(roots), list(sys_path), times, configs], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return None


def _build(base: str, folder: str, roots: Sequence[str], sys_path: Sequence[str]) -> None:
    _remove_stale_builds(base)
    tmp = tempfile.mkdtemp(prefix=".build-", dir=base)
    try:
        used = {os.path.realpath(p) for p in sys_path}
        for root in roots:
            _copy_tree(root, tmp, folder, roots, used)
        for root in roots:
            _rewrite_venv_config(root, tmp, folder, roots)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, folder)
        except OSError as exc:  # another process built it first
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_stale_builds(base: str) -> None:
    for name in os.listdir(base):
        path = os.path.join(base, name)
        try:
            if name.startswith(".build-") and time.time() - os.lstat(path).st_mtime > STALE_BUILD_S:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def _makedirs(path: str) -> None:
    if not os.path.isdir(path):
        _makedirs(os.path.dirname(path))
        os.mkdir(path)
        os.chmod(path, 0o755)


def _copy_tree(root: str, tmp: str, final: str, roots: Sequence[str], used: set) -> None:
    for here, dirs, _files in os.walk(root):
        _makedirs(tmp + here)
        kept = []
        for name in dirs:
            path = os.path.join(here, name)
            if os.path.islink(path):
                _copy_entry(path, tmp + path, final, roots)
            elif name in ("site-packages", "dist-packages") and os.path.realpath(path) not in used:
                continue  # the base interpreter's packages, which a venv does not import
            else:
                kept.append(name)
        dirs[:] = kept
        for name in _files:
            _copy_entry(os.path.join(here, name), tmp + os.path.join(here, name), final, roots)


def _copy_entry(src: str, dst: str, final: str, roots: Sequence[str]) -> None:
    info = os.lstat(src)
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(src)
        if os.path.isabs(target) and any(within(target, r) for r in roots):
            target = final + target
        os.symlink(target, dst)
    elif stat.S_ISREG(info.st_mode):
        if os.path.basename(src) == "pyvenv.cfg":
            return  # rewritten afterwards, never linked (writing through a link would change the original)
        mode = stat.S_IMODE(info.st_mode)
        if mode & stat.S_IROTH and not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IWOTH):
            try:
                os.link(src, dst)
                return
            except OSError:
                pass
        shutil.copyfile(src, dst)
        os.chmod(dst, (mode & 0o755) | 0o444 | (0o111 if mode & stat.S_IXUSR else 0))
    # sockets, fifos and devices are no part of an interpreter


def _rewrite_venv_config(root: str, tmp: str, final: str, roots: Sequence[str]) -> None:
    text = _read(os.path.join(root, "pyvenv.cfg"))
    if text is None:
        return
    lines = []
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        value = value.strip()
        if sep and name.strip() in ("home", "executable") and any(within(value, r) for r in roots):
            line = f"{name.strip()} = {final + value}"
        lines.append(line)
    path = tmp + os.path.join(root, "pyvenv.cfg")
    with open(path, "x", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.chmod(path, 0o644)


__all__ = ["Mirror", "MirrorError", "STORE_ENV", "changeable", "checked_store", "mirror", "needed", "reachable",
           "store", "writable_by_others"]
