"""What isolation this machine allows, probed once per interpreter and cached.

Candidates are tried strongest first by running the interpreter through the real exec chain, so a
configuration is chosen only if it works here: bubblewrap missing, user namespaces disabled, an
interpreter in a folder the throwaway uid cannot read, ... Whatever is missing is said once, in one
loud line on stderr, and every result carries the flags.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import replace
from typing import Dict, List, Optional, Tuple

from skills.config.errors import UsageError
from skills.sandbox.launcher import INSIDE_WORKDIR, Isolation, build_argv, build_env, preexec_limits
from skills.sandbox.types import Limits
from skills.sandbox.uids import claim_uid

MODES = ("auto", "bwrap", "unshare", "none")
ISOLATION_ENV = "SKILLS_SANDBOX_ISOLATION"  # force a mode; a forced mode that does not work is an error
PROBE_TIMEOUT_S = 30.0
_PATHS_SCRIPT = ("import json, os, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, "
                 "sys.base_exec_prefix, os.path.realpath(sys.executable)] + [p for p in sys.path if p]))")

_lock = threading.Lock()
_cache: Dict[Tuple[str, str], Isolation] = {}


def default_mode() -> str:
    mode = os.environ.get(ISOLATION_ENV, "auto") or "auto"
    if mode not in MODES:
        raise UsageError(f"{ISOLATION_ENV}={mode!r}: expected one of {', '.join(MODES)}")
    return mode


def detect(python: str, mode: Optional[str] = None) -> Isolation:
    """The strongest working isolation for ``python`` (cached; thread-safe)."""
    mode = mode or default_mode()
    if mode not in MODES:
        raise UsageError(f"unknown sandbox isolation {mode!r}: expected one of {', '.join(MODES)}")
    with _lock:
        key = (python, mode)
        if key not in _cache:
            _cache[key] = _detect(python, mode)
            if _cache[key].note:
                print(f"warning: sandbox: {_cache[key].note}", file=sys.stderr, flush=True)
        return _cache[key]


def _resolve_python(python: str) -> str:
    found = shutil.which(python) if os.sep not in python else python
    if not found or not os.access(found, os.X_OK):
        raise UsageError(f"sandbox interpreter not found or not executable: {python}")
    return os.path.abspath(found)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _interpreter_paths(python: str) -> str:
    """The interpreter's prefixes and sys.path as JSON, run outside any sandbox."""
    out = subprocess.run([python, "-E", "-c", _PATHS_SCRIPT], capture_output=True, text=True,
                         timeout=PROBE_TIMEOUT_S, env=build_env(_bare(python), tempfile.gettempdir()))
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines()
        raise UsageError(f"sandbox interpreter {python} does not run: {lines[-1] if lines else out.returncode}")
    return out.stdout.strip()


def _hidden_and_binds(python: str, paths_json: str) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """$HOME and /run become empty (credentials live there) and /tmp is the work dir; the
    interpreter's own folders inside them are mounted back read-only."""
    home = os.path.realpath(os.path.expanduser("~"))
    hidden = tuple(h for h in (home, "/run") if h != "/" and os.path.isdir(h) and not os.path.islink(h))
    paths = json.loads(paths_json) + [os.path.dirname(python), os.path.dirname(os.path.realpath(python))]
    wanted = set()
    for path in paths:
        for p in {path, os.path.realpath(path)}:
            p = p if os.path.isdir(p) else os.path.dirname(p)
            if os.path.isdir(p) and any(_within(p, h) for h in (*hidden, INSIDE_WORKDIR)):
                wanted.add(p)
    binds = [p for p in sorted(wanted) if not any(q != p and _within(p, q) for q in wanted)]
    return hidden, tuple(binds)


def _bare(python: str) -> Isolation:
    return Isolation(mode="none", python=python, drop_uid=False, network=False, filesystem=False, pids=False)


def _own_process_count() -> int:
    uid, count = os.geteuid(), 0
    for name in os.listdir("/proc"):
        try:
            count += name.isdigit() and os.stat(f"/proc/{name}").st_uid == uid
        except OSError:
            pass
    return count


def _try(iso: Isolation, expected: str) -> Optional[str]:
    """None when the interpreter runs through this configuration and sees the same prefixes and
    sys.path as outside, else why not. (Where its own folders are unreadable, e.g. under /root for
    a throwaway uid, CPython still starts from frozen modules and may pick another stdlib.)"""
    workdir = tempfile.mkdtemp(prefix=f"skills-sandbox-{os.getpid()}-probe-")
    uid, lock = claim_uid() if iso.drop_uid else (None, None)
    try:
        if uid is not None:
            os.chown(workdir, uid, uid)
        limits = Limits(wall_s=PROBE_TIMEOUT_S, cpu_s=PROBE_TIMEOUT_S)
        argv = build_argv(iso, limits, workdir, [iso.python, "-E", "-c", _PATHS_SCRIPT], uid)
        out = subprocess.run(argv, cwd=workdir, env=build_env(iso, workdir), capture_output=True,
                             text=True, timeout=PROBE_TIMEOUT_S, preexec_fn=preexec_limits(iso, limits))
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if lock is not None:
            os.close(lock)
    if out.returncode == 0 and out.stdout.strip() == expected:
        return None
    if out.returncode == 0:
        return "the interpreter sees other prefixes or sys.path inside (unreadable folders?)"
    lines = (out.stderr or out.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit code {out.returncode}"


def _detect(python: str, mode: str) -> Isolation:
    python = _resolve_python(python)
    expected = _interpreter_paths(python)
    tools = {t: shutil.which(t) for t in ("bwrap", "unshare", "prlimit", "setpriv", "timeout")}
    root = os.geteuid() == 0
    failures: List[str] = []
    for kind in ("bwrap", "unshare", "none"):
        if mode not in ("auto", kind):
            continue
        if kind != "none" and not tools[kind]:
            failures.append(f"{kind} is not installed")
            continue
        hidden, binds = _hidden_and_binds(python, expected) if kind == "bwrap" else ((), ())
        drops = [True, False] if root and tools["setpriv"] else [False]
        for drop, shm in [(d, s) for d in drops for s in ([True, False] if kind == "bwrap" else [False])]:
            nproc_base = _own_process_count() + 64 if kind == "none" and not root else 0
            iso = Isolation(mode=kind, python=python, drop_uid=drop, network=kind != "none",
                            filesystem=kind == "bwrap", pids=kind != "none", wrapper=tools.get(kind),
                            hidden=hidden, binds=binds, prlimit=tools["prlimit"], setpriv=tools["setpriv"],
                            timeout=tools["timeout"], shm=shm, nproc_base=nproc_base)
            error = _try(iso, expected)
            if error is None:
                return _with_note(iso, failures)
            failures.append(f"{kind}{' as a throwaway uid' if drop else ''}{' with /dev/shm' if shm else ''}: "
                            f"{error}")
    raise UsageError(f"sandbox isolation '{mode}' does not work here ({'; '.join(failures)})")


def _with_note(iso: Isolation, failures: List[str]) -> Isolation:
    why = f" ({'; '.join(failures)})" if failures else ""
    notes = []
    if iso.mode == "none":
        notes.append("NO network, PID or filesystem isolation for untrusted code: results are flagged "
                     "network_isolated=false, pid_isolated=false, fs_isolated=false; install bubblewrap")
    elif iso.mode == "unshare":
        notes.append("no read-only filesystem for untrusted code (network and PIDs are isolated); "
                     "results are flagged fs_isolated=false; install bubblewrap")
    if os.geteuid() == 0 and not iso.drop_uid:
        notes.append("running as root without a throwaway uid, so max_processes is not enforced "
                     "(make the sandbox interpreter readable by other users)")
    return replace(iso, note="; ".join(notes) + why) if notes else iso
