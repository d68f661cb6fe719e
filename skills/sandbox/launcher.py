"""The command line and environment of one execution, for a given isolation level.

Everything is applied by exec-chained programs (``bwrap`` or ``unshare``, then the *stage*) rather
than a ``preexec_fn``: Python documents ``preexec_fn`` as unsafe in threaded programs, and graders
call the sandbox from many threads.

The stage is the chain's last step: the compiled ``stage.c`` (limits, uid drop, no_new_privs), or
where it cannot be built ``prlimit``, ``setpriv`` and a few lines of ``sh``. Only after the limits
and the uid drop does it read the *go message* from stdin (the command and the program's own
variables) and become the program, whose stdin is the rest of that pipe. So the whole chain
(namespaces, mounts, limits, uid) can be set up before a request arrives, and nothing a caller
sends reaches the privileged part of the chain: its environment is ours alone, and neither a
request's arguments nor its ``env`` (allow-listed by ``check_env``) is on any command line.

A chain set up ahead must not outlive its caller: ``bwrap --die-with-parent`` and, for
``unshare``, ``setpriv --pdeathsig KILL`` in front of ``unshare --kill-child`` kill the whole PID
namespace when the thread that started it ends. Without a PID namespace (``none``) coreutils'
``timeout`` stays the backstop, and such chains start only when their request arrives. With
bubblewrap as root, ``warm_argv`` is the long-lived bwrap of a worker slot's warm launcher
(``warm.py``), which gives each execution fresh namespaces without a bwrap of its own.
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
    paths: Tuple[str, ...] = ()  # the interpreter's (and the stage's) folders: mounted back where hidden
    prlimit: Optional[str] = None  # None: limits are set by a preexec_fn instead
    setpriv: Optional[str] = None
    timeout: Optional[str] = None  # the backstop where no PID namespace dies with the caller
    shell: Optional[str] = None  # the POSIX shell of the stage (dash where installed)
    stage: Optional[str] = None  # the compiled stage (``stage.c``); None: prlimit, setpriv and sh
    program_env: Tuple[Tuple[str, str], ...] = ()  # set for the program only (a mirror's library path)
    shm: bool = True  # bwrap: a private writable /dev/shm (needs bwrap >= 0.7 for --size)
    nproc_base: int = 0  # processes the uid already has, when RLIMIT_NPROC counts them too
    as_root: bool = False  # model code runs as the host's root (SKILLS_SANDBOX_ALLOW_ROOT=1 only)
    mirror: Optional[str] = None  # where a world-readable mirror of the interpreter lives
    note: str = ""  # what is missing and why, for the warning

    @property
    def starts_ahead(self) -> bool:
        """Whether a chain may be started before its request: only where the whole PID namespace
        dies with the thread that started it (a wall-clock backstop would start counting early)."""
        return self.mode == "bwrap" or (self.mode == "unshare" and self.setpriv is not None)

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
    """Only where neither the compiled stage nor ``prlimit`` is there: set the limits in the
    forked child."""
    if iso.stage or iso.prlimit:
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


WARM_BASE = "/dev/.skills-sandbox"  # where a warm launcher sees its slot's work dirs (detached per execution)
WARM_CAPS = "CAP_SYS_ADMIN,CAP_NET_ADMIN,CAP_SETUID,CAP_SETGID,CAP_SETPCAP"


def warm_possible(iso: Isolation, read_only: Sequence[str] = ()) -> bool:
    """Whether executions can come from a warm launcher (``stage.c -z``): bubblewrap as root with
    the compiled stage, and nothing to mount back under /tmp (the work dir covers it)."""
    return (iso.mode == "bwrap" and iso.drop_uid and bool(iso.stage)
            and not any(within(p, INSIDE_WORKDIR) for p in (*iso.paths, *read_only)))


def warm_argv(iso: Isolation, base: str, control_fd: int, read_only: Sequence[str] = ()) -> List[str]:
    """A worker slot's warm launcher: bwrap holding the filesystem view every execution shares
    (read-only root, hidden folders, the interpreter and ``read_only`` mounted back, a minimal
    /dev, the slot's work dirs in ``base`` at WARM_BASE), with the capabilities to give each
    execution its own PID, mount, IPC and network namespaces, /proc, /dev/shm and /tmp (see
    stage.c). The host's /proc stays under it only for the launcher; every execution mounts its own."""
    if not warm_possible(iso, read_only):
        raise ValueError("no warm launcher for this isolation")
    tops = hidden_folders(iso)
    argv = [iso.wrapper or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev"]
    for folder in tops:
        argv += ["--tmpfs", folder]
    argv += _ro_binds([*interpreter_binds(iso, tops), *read_only], tops)
    for folder in tops:
        argv += ["--remount-ro", folder]
    argv += ["--bind", base, WARM_BASE, "--chdir", "/",
             "--unshare-ipc", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent",
             "--new-session", "--cap-add", WARM_CAPS, "--", iso.stage, f"-z{control_fd}:{WARM_BASE}"]
    return argv


def warm_request(uid: Optional[int], limits: Limits, name: str, nproc_base: int = 0) -> bytes:
    """One execution's request to a warm launcher (its stdin, stdout and stderr go along)."""
    ids = f"{uid} {uid}" if uid is not None else "- -"
    shm = int(limits.max_file_mb) * 1024 * 1024
    rlimits = " ".join(f"{res}:{soft}:{hard}" for res, (soft, hard) in _rlimits(limits, nproc_base).items())
    return f"run {ids} {shm} {name} {rlimits}".encode()


def _unshare(iso: Isolation) -> List[str]:
    argv = [iso.wrapper or "unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--ipc", "--uts"]
    if os.geteuid() != 0:
        argv[1:1] = ["--user", "--map-root-user"]
    if iso.starts_ahead:  # unshare has no --die-with-parent: it gets SIGKILL when our thread ends
        argv[0:0] = [iso.setpriv or "setpriv", "--pdeathsig", "KILL", "--"]
    return argv + ["--"]


# The stage: the chain's last step, after the limits and the uid drop; it becomes the program.
# Either the compiled stage (``stage.c``: limits, uid drop and exec in one program) or, where it
# cannot be built, ``prlimit`` and ``setpriv`` followed by a few lines of sh (``$nl`` lets the sh
# go line carry newlines inside quotes).
STAGE_DISCARDED = 125  # the stage's exit status when its chain was never used (EOF, no go line)
_STAGE_HEAD = "nl='\n'\n"
_READ_GO = f"IFS= read -r go || exit {STAGE_DISCARDED}\neval \"$go\"\n"
_RUN = "exec \"$@\"\n"


def _chain(iso: Isolation, limits: Limits, workdir: str, uid: Optional[int], read_only: Sequence[str],
           direct: Optional[Tuple[Sequence[str], Mapping[str, str]]] = None) -> List[str]:
    """[setpriv --pdeathsig] [bwrap|unshare] [timeout] (stage | prlimit [setpriv] sh -c STAGE).

    The stage reads the go line from stdin, or with ``direct`` (command, variables) takes them
    from its arguments. Inside ``unshare``'s PID namespace ``timeout`` is the first process (still
    root as root), so the program is not an init (which ignores signals it has no handler for), a
    signal death reaches us as 128 + N, and the namespace dies with it when ``unshare`` is killed.
    It is also the backstop at ``wall_s`` + 2 s where nothing else kills a dead caller's program;
    a chain started ahead has no wall clock yet, so there its duration is 0 (none).
    """
    if iso.drop_uid and uid is None:
        raise ValueError("this isolation runs programs as a throwaway uid: claim one first")
    argv: List[str] = []
    if iso.mode == "bwrap":
        argv += _bwrap(iso, limits, workdir, read_only)
    elif iso.mode == "unshare":
        argv += _unshare(iso)
    if iso.mode == "unshare" or (iso.timeout and not iso.starts_ahead):
        wall = 0 if iso.starts_ahead else limits.wall_s + BACKSTOP_GRACE_S
        argv += [iso.timeout or "timeout", "-s", "KILL", f"{wall:g}"]
    rlimits = _rlimits(limits, iso.nproc_base).items()
    if iso.stage:
        argv += [iso.stage, *(f"-l{res}:{soft}:{hard}" for res, (soft, hard) in rlimits)]
        if iso.drop_uid:
            argv.append(f"-u{uid}:{uid}")
        if direct is None:
            return argv + ["-i"]
        command, env = direct
        return argv + [f"-e{name}={value}" for name, value in env.items()] + ["--", *command]
    if iso.prlimit:
        argv += [iso.prlimit, *(f"--{_PRLIMIT_NAMES[res]}={soft}:{hard}" for res, (soft, hard) in rlimits), "--"]
    if iso.drop_uid:
        argv += [iso.setpriv or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    argv += [iso.shell or "/bin/sh", "-c"]
    if direct is None:
        return argv + [_STAGE_HEAD + _READ_GO + _RUN, "sh"]
    return argv + [_STAGE_HEAD + 'eval "$1"\n' + _RUN, "sh", _go_text(*direct)]


def launch_argv(iso: Isolation, limits: Limits, workdir: str, uid: Optional[int],
                read_only: Sequence[str] = ()) -> List[str]:
    """The chain of one execution, without its command: the stage waits for the go line on stdin
    (``go_line``), so this may start before the request. Everything in it depends on the
    isolation, the limits and ``read_only``, never on the program, its arguments or variables."""
    return _chain(iso, limits, workdir, uid, read_only)


def _quote(text: str) -> str:
    """``text`` as one sh word, on one line (newlines become ``$nl``)."""
    return "'" + text.replace("'", "'\\''").replace("\n", "'\"$nl\"'") + "'"


def _go_text(command: Sequence[str], env: Mapping[str, str]) -> str:
    """sh text for the shell stage: the command as its arguments, then the program's variables."""
    text = "set -- " + " ".join(_quote(arg) for arg in command)
    if env:
        text += "; export " + " ".join(_quote(f"{name}={value}") for name, value in env.items())
    return text


def go_line(iso: Isolation, command: Sequence[str], env: Optional[Mapping[str, str]] = None) -> bytes:
    """What starts a chain from ``launch_argv``: the command and the program's own variables
    (names from ``check_env`` or our own; no NUL anywhere)."""
    if not command:
        raise UsageError("sandbox command is empty")
    variables = {**dict(iso.program_env), **(env or {})}
    if not iso.stage:
        return os.fsencode(_go_text(command, variables)) + b"\n"
    fields = [b"a" + os.fsencode(arg) for arg in command]
    fields += [b"e" + os.fsencode(f"{name}={value}") for name, value in variables.items()]
    payload = b"".join(field + b"\0" for field in fields)
    return b"%d\n" % len(payload) + payload


def build_argv(iso: Isolation, limits: Limits, workdir: str, command: Sequence[str],
               uid: Optional[int], read_only: Sequence[str] = (),
               env: Optional[Mapping[str, str]] = None) -> List[str]:
    """The whole chain with its command (a confined long-lived process, whose stdin is its own):
    the stage takes the command and the variables from its arguments instead of stdin."""
    if not command:
        raise UsageError("sandbox command is empty")
    return _chain(iso, limits, workdir, uid, read_only, (list(command), {**dict(iso.program_env), **(env or {})}))


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
