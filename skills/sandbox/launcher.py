"""The command line and environment of one execution, for a given isolation level.

Everything is applied by small exec-chained tools (``timeout``, ``bwrap`` or ``unshare``,
``prlimit``, ``setpriv``) rather than a ``preexec_fn``: Python documents ``preexec_fn`` as unsafe
in threaded programs, and graders call the sandbox from many threads. ``timeout`` is a backstop:
if the calling process dies, the program still ends shortly after its wall-time limit (and with a
PID namespace, everything it started with it).
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from skills.sandbox.types import Limits

INSIDE_WORKDIR = "/tmp"  # with bwrap the work dir is mounted over /tmp: $HOME, $TMPDIR and cwd
BACKSTOP_GRACE_S = 2.0
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")  # the only variables taken from the caller
FIXED_ENV = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
    "PYTHONNOUSERSITE": "1",
    # BLAS/OpenMP would start one thread per core, and threads count against max_processes.
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
}


@dataclass(frozen=True)
class Isolation:
    """What one probed configuration enforces (see ``probe.detect``)."""

    mode: str  # bwrap | unshare | none
    python: str
    drop_uid: bool  # root only: each execution runs as a throwaway uid (RLIMIT_NPROC then works)
    network: bool
    filesystem: bool
    pids: bool
    wrapper: Optional[str] = None  # path of bwrap / unshare
    hidden: Tuple[str, ...] = ()  # folders replaced by an empty read-only tmpfs ($HOME, /run)
    binds: Tuple[str, ...] = ()  # interpreter folders re-exposed read-only inside hidden ones
    prlimit: Optional[str] = None  # None: limits are set by a preexec_fn instead
    setpriv: Optional[str] = None
    timeout: Optional[str] = None
    shm: bool = True  # bwrap: a private writable /dev/shm (needs bwrap >= 0.7 for --size)
    nproc_base: int = 0  # processes the uid already has, when RLIMIT_NPROC counts them too
    note: str = ""  # what is missing and why, for the warning

    @property
    def wrapped(self) -> bool:
        """Exit statuses pass through a wrapper that reports a signal as 128 + signum."""
        return self.mode != "none" or self.timeout is not None


def _rlimits(limits: Limits, nproc_base: int) -> Dict[int, Tuple[int, int]]:
    cpu = max(1, int(round(limits.cpu_s)))
    mem = int(limits.memory_mb) * 1024 * 1024
    fsize = int(limits.max_file_mb) * 1024 * 1024
    nproc = int(limits.max_processes) + nproc_base
    return {
        resource.RLIMIT_CPU: (cpu, cpu + 1),  # SIGXCPU, then SIGKILL one second later
        resource.RLIMIT_AS: (mem, mem),
        resource.RLIMIT_NPROC: (nproc, nproc),
        resource.RLIMIT_FSIZE: (fsize, fsize),
        resource.RLIMIT_NOFILE: (int(limits.max_open_files),) * 2,
        resource.RLIMIT_CORE: (0, 0),
    }


_PRLIMIT_NAMES = {
    resource.RLIMIT_CPU: "cpu", resource.RLIMIT_AS: "as", resource.RLIMIT_NPROC: "nproc",
    resource.RLIMIT_FSIZE: "fsize", resource.RLIMIT_NOFILE: "nofile", resource.RLIMIT_CORE: "core",
}


def preexec_limits(iso: Isolation, limits: Limits) -> Optional[Callable[[], None]]:
    """Only where ``prlimit`` is missing: set the limits in the forked child."""
    if iso.prlimit:
        return None
    values = _rlimits(limits, iso.nproc_base)

    def apply() -> None:
        for res, value in values.items():
            resource.setrlimit(res, value)

    return apply


def _parents_below(folder: str, hidden: Sequence[str]) -> List[str]:
    """Folders strictly between the hidden folder holding ``folder`` and ``folder`` itself."""
    for top in hidden:
        if folder.startswith(top.rstrip("/") + "/"):
            parts = folder[len(top.rstrip("/")) + 1:].split("/")[:-1]
            return [top.rstrip("/") + "/" + "/".join(parts[:i + 1]) for i in range(len(parts))]
    return []


def _ro_binds(paths: Sequence[str], tops: Sequence[str]) -> List[str]:
    """Read-only binds of host ``paths`` at the same place, inside the mounts ``tops``."""
    argv: List[str] = []
    for path in paths:
        for parent in _parents_below(path, tops):  # bwrap would create them as 0700
            argv += ["--perms", "0755", "--dir", parent]
        argv += ["--ro-bind", path, path]
    return argv


def _bwrap(iso: Isolation, limits: Limits, workdir: str, read_only: Sequence[str] = ()) -> List[str]:
    argv = [iso.wrapper or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    if iso.shm:  # multiprocessing needs a writable /dev/shm
        argv += ["--perms", "1777", "--size", str(int(limits.max_file_mb) * 1024 * 1024), "--tmpfs", "/dev/shm"]
    for folder in iso.hidden:
        argv += ["--tmpfs", folder]
    # the interpreter's own folders, then read-only data the caller asked for: those in hidden
    # folders before these become read-only, those under /tmp (an interpreter installed there
    # too) after the work dir is mounted over it (the rest of / is visible anyway)
    in_tmp = [p for p in (*iso.binds, *read_only) if p.startswith(INSIDE_WORKDIR + "/")]
    argv += _ro_binds([p for p in (*iso.binds, *read_only) if p not in in_tmp], iso.hidden)
    for folder in iso.hidden:
        argv += ["--remount-ro", folder]
    argv += ["--bind", workdir, INSIDE_WORKDIR]
    argv += _ro_binds(in_tmp, (INSIDE_WORKDIR,))
    argv += ["--chdir", INSIDE_WORKDIR,
             "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
             "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if iso.drop_uid:  # real root: no user namespace; keep just what setpriv needs to drop to uid
        argv += ["--cap-add", "CAP_SETUID,CAP_SETGID,CAP_SETPCAP"]
    else:
        argv += ["--unshare-user"]
    return argv + ["--"]


def _unshare(iso: Isolation) -> List[str]:
    argv = [iso.wrapper or "unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--ipc", "--uts"]
    if os.geteuid() != 0:
        argv[1:1] = ["--user", "--map-root-user"]
    return argv + ["--"]


def build_argv(iso: Isolation, limits: Limits, workdir: str, command: Sequence[str],
               uid: Optional[int], read_only: Sequence[str] = ()) -> List[str]:
    """The full exec chain: [bwrap|unshare] [timeout] [prlimit] [setpriv] command.

    Inside a PID namespace ``timeout`` is its first process, so the program is not an init
    (which ignores signals it has no handler for) and a signal death reaches us as 128 + N.
    """
    argv: List[str] = []
    if iso.mode == "bwrap":
        argv += _bwrap(iso, limits, workdir, read_only)
    elif iso.mode == "unshare":
        argv += _unshare(iso)
    if iso.timeout:
        argv += [iso.timeout, "-s", "KILL", f"{limits.wall_s + BACKSTOP_GRACE_S:g}"]
    if iso.prlimit:
        argv += [iso.prlimit] + [
            f"--{_PRLIMIT_NAMES[res]}={soft}:{hard}"
            for res, (soft, hard) in _rlimits(limits, iso.nproc_base).items()] + ["--"]
    if iso.drop_uid and uid is not None:
        argv += [iso.setpriv or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return argv + list(command)


def inside_workdir(iso: Isolation, workdir: str) -> str:
    """Where the program sees its work dir."""
    return INSIDE_WORKDIR if iso.mode == "bwrap" else workdir


def build_env(iso: Isolation, workdir: str, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """An allow-listed environment: nothing of the caller's (API keys, tokens) but the locale."""
    home = inside_workdir(iso, workdir)
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env.update(FIXED_ENV)
    env.update(PATH=f"{os.path.dirname(iso.python)}:{SAFE_PATH}", HOME=home, TMPDIR=home,
               PWD=home, USER="sandbox", LOGNAME="sandbox")
    env.update(extra or {})
    return env
