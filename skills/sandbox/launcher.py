"""The command line and environment of one execution, for a given isolation level.

Everything is applied by small exec-chained tools (``timeout``, ``bwrap`` or ``unshare``,
``prlimit``, ``setpriv``, ``env``) rather than a ``preexec_fn``: Python documents ``preexec_fn`` as
unsafe in threaded programs, and graders call the sandbox from many threads. ``timeout`` is a
backstop: if the calling process dies, the program still ends shortly after its wall-time limit
(and with a PID namespace, everything it started with it).

Nothing a caller sends reaches the privileged part of the chain: its environment is ours alone,
and a request's ``env`` (allow-listed by ``check_env``) is set by ``env`` as the last step, after
the limits and the uid drop, for the program only.
"""

from __future__ import annotations

import os
import pwd
import re
import resource
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.sandbox.types import Limits

INSIDE_WORKDIR = "/tmp"  # with bwrap the work dir is mounted over /tmp: $HOME, $TMPDIR and cwd
BACKSTOP_GRACE_S = 2.0
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")  # the only variables taken from the caller
FIXED_ENV = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
    "PYTHONNOUSERSITE": "1",
    "MPLBACKEND": "Agg",
}
# BLAS/OpenMP start one thread per core unless told otherwise, and threads count against
# max_processes: Limits.threads sets them (None leaves the libraries' default).
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# What a caller's ``env`` may set: locale, time zone, thread counts, a few inert Python switches,
# and PROGRAM_* for the program's own settings. An allow-list: loader, interpreter and library hooks
# (LD_*, PYTHONSTARTUP, PYTHONHOME, PYTHONPATH, GCONV_PATH, BASH_ENV, PATH, MPLBACKEND=module://...)
# never match.
PROGRAM_ENV = re.compile(
    r"LANG|LANGUAGE|LC_[A-Z]+|TZ|PYTHONHASHSEED|PYTHONIOENCODING|PYTHONUNBUFFERED|PYTHONUTF8"
    r"|(OMP|OPENBLAS|MKL|NUMEXPR|BLIS|NUMBA)_NUM_THREADS|NUMEXPR_MAX_THREADS|VECLIB_MAXIMUM_THREADS"
    r"|PROGRAM_[A-Z0-9_]+")
# Never hidden even when they are the caller's working directory: the programs need them.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/dev", "/proc", "/sys")


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
    paths: Tuple[str, ...] = ()  # the interpreter's folders: mounted back read-only where hidden
    prlimit: Optional[str] = None  # None: limits are set by a preexec_fn instead
    setpriv: Optional[str] = None
    timeout: Optional[str] = None
    env: Optional[str] = None  # path of coreutils' env: sets the program's own variables last
    program_env: Tuple[Tuple[str, str], ...] = ()  # set for the program only (a mirror's library path)
    shm: bool = True  # bwrap: a private writable /dev/shm (needs bwrap >= 0.7 for --size)
    nproc_base: int = 0  # processes the uid already has, when RLIMIT_NPROC counts them too
    as_root: bool = False  # model code runs as the host's root (SKILLS_SANDBOX_ALLOW_ROOT=1 only)
    mirror: Optional[str] = None  # where a world-readable mirror of the interpreter lives
    note: str = ""  # what is missing and why, for the warning

    @property
    def wrapped(self) -> bool:
        """Exit statuses pass through a wrapper that reports a signal as 128 + signum."""
        return self.mode != "none" or self.timeout is not None


def check_env(env: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """A caller's ``env`` for its program, or UsageError naming what is refused and why."""
    if env is None:
        return {}
    if not isinstance(env, Mapping):
        raise UsageError("sandbox env must be an object of name -> text")
    refused = sorted(repr(k) for k in env if not isinstance(k, str) or not PROGRAM_ENV.fullmatch(k))
    if refused:
        raise UsageError(f"sandbox env: {', '.join(refused[:5])} refused: programs may get only locale, time zone, "
                         "*_NUM_THREADS, PYTHONHASHSEED/IOENCODING/UNBUFFERED/UTF8 and PROGRAM_* variables "
                         "(never loader or interpreter settings such as LD_* or PYTHONSTARTUP)")
    for name, value in env.items():
        if not isinstance(value, str) or "\0" in value:
            raise UsageError(f"sandbox env {name}: the value must be text without NUL characters")
    return dict(env)


def _rlimits(limits: Limits, nproc_base: int) -> Dict[int, Tuple[int, int]]:
    mem = int(limits.memory_mb) * 1024 * 1024
    fsize = int(limits.max_file_mb) * 1024 * 1024
    nproc = int(limits.max_processes) + nproc_base
    out = {
        resource.RLIMIT_AS: (mem, mem),
        resource.RLIMIT_NPROC: (nproc, nproc),
        resource.RLIMIT_FSIZE: (fsize, fsize),
        resource.RLIMIT_NOFILE: (int(limits.max_open_files),) * 2,
        resource.RLIMIT_CORE: (0, 0),
    }
    if limits.cpu_s is not None:
        cpu = max(1, int(round(limits.cpu_s)))
        out[resource.RLIMIT_CPU] = (cpu, cpu + 1)  # SIGXCPU, then SIGKILL one second later
    return out


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


def within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def outermost(paths: Sequence[str]) -> List[str]:
    """``paths`` without those inside another of them."""
    unique = list(dict.fromkeys(paths))
    return [p for p in unique if not any(q != p and within(p, q) for q in unique)]


def home_folders() -> Tuple[str, ...]:
    """The caller's home folders ($HOME and the account's), where credentials live."""
    homes = [os.path.expanduser("~")]
    try:
        homes.append(pwd.getpwuid(os.geteuid()).pw_dir)
    except KeyError:
        pass
    return tuple(dict.fromkeys(os.path.realpath(h) for h in homes if h and os.path.isabs(h)))


def hidden_folders(iso: Isolation) -> List[str]:
    """What bwrap replaces by an empty folder: the probe's ($HOME, /run) and the caller's working
    directory now, unless that is / or a system folder programs need."""
    tops = list(iso.hidden)
    try:
        cwd = os.path.realpath(os.getcwd())
    except OSError:  # deleted under us: nothing to hide
        cwd = "/"
    if (cwd != "/" and not within(cwd, INSIDE_WORKDIR) and not any(within(cwd, s) for s in SYSTEM_DIRS)
            and os.path.isdir(cwd)):
        tops.append(cwd)
    return outermost(tops)


def _parents_below(folder: str, tops: Sequence[str]) -> List[str]:
    """Folders strictly between the hidden folder holding ``folder`` and ``folder`` itself."""
    for top in tops:
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


def interpreter_binds(iso: Isolation, tops: Sequence[str]) -> List[str]:
    """The interpreter's folders that lie in hidden folders or in /tmp: mounted back read-only."""
    return outermost([p for p in iso.paths if any(within(p, t) for t in (*tops, INSIDE_WORKDIR))])


def _bwrap(iso: Isolation, limits: Limits, workdir: str, read_only: Sequence[str] = ()) -> List[str]:
    tops = hidden_folders(iso)
    argv = [iso.wrapper or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    if iso.shm:  # multiprocessing needs a writable /dev/shm
        argv += ["--perms", "1777", "--size", str(int(limits.max_file_mb) * 1024 * 1024), "--tmpfs", "/dev/shm"]
    for folder in tops:
        argv += ["--tmpfs", folder]
    # the interpreter's own folders, then read-only data the caller asked for: those in hidden
    # folders before these become read-only, those under /tmp (an interpreter installed there
    # too) after the work dir is mounted over it (the rest of / is visible anyway)
    wanted = [*interpreter_binds(iso, tops), *read_only]
    in_tmp = [p for p in wanted if within(p, INSIDE_WORKDIR) and p != INSIDE_WORKDIR]
    argv += _ro_binds([p for p in wanted if p not in in_tmp], tops)
    for folder in tops:
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
               uid: Optional[int], read_only: Sequence[str] = (),
               env: Optional[Mapping[str, str]] = None) -> List[str]:
    """The full exec chain: [bwrap|unshare] [timeout] [prlimit] [setpriv] [env K=V...] command.

    Inside a PID namespace ``timeout`` is its first process, so the program is not an init
    (which ignores signals it has no handler for) and a signal death reaches us as 128 + N.
    ``env`` (the program's own variables) is applied last, by ``env``, after the uid drop.
    """
    if iso.drop_uid and uid is None:
        raise ValueError("this isolation runs programs as a throwaway uid: claim one first")
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
    if iso.drop_uid:
        argv += [iso.setpriv or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    program_env = [f"{k}={v}" for k, v in (*iso.program_env, *(env or {}).items())]
    if program_env:
        if not iso.env:
            raise UsageError("the sandbox needs coreutils' env to give a program its own variables")
        if "=" in command[0]:  # env would read it as one more variable
            raise UsageError(f"sandbox command name must not contain '=': {command[0]}")
        argv += [iso.env, "--", *program_env]
    return argv + list(command)


def inside_workdir(iso: Isolation, workdir: str) -> str:
    """Where the program sees its work dir."""
    return INSIDE_WORKDIR if iso.mode == "bwrap" else workdir


def build_env(iso: Isolation, workdir: str, limits: Optional[Limits] = None) -> Dict[str, str]:
    """The launch chain's environment, ours alone: nothing of the caller's (API keys, tokens, a
    request's ``env``) but the locale; the program inherits it."""
    home = inside_workdir(iso, workdir)
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env.update(FIXED_ENV)
    threads = (limits or Limits()).threads
    if threads is not None:
        env.update({name: str(threads) for name in THREAD_ENV})
    env.update(PATH=f"{os.path.dirname(iso.python)}:{SAFE_PATH}", HOME=home, TMPDIR=home,
               PWD=home, USER="sandbox", LOGNAME="sandbox")
    return env
