"""What isolation this machine allows, probed once per interpreter and cached.

Candidates are tried strongest first by running the interpreter through the real exec chain, so a
configuration is chosen only if it works here: bubblewrap missing, user namespaces disabled, an
interpreter in a folder the throwaway uid cannot read, ... Whatever is missing is said once, in one
loud line on stderr, and every result carries the flags.

As root, model code never runs as uid 0: each candidate drops to a throwaway uid. Where the
interpreter is unreadable for that uid (a venv under root's 0700 home) and bubblewrap cannot mount
it back, a world-readable mirror of it is tried (``mirror``); where nothing works the probe refuses
with one line saying what to do. Only ``SKILLS_SANDBOX_ALLOW_ROOT=1`` lets root run it, and then
every result says ``as_root``.
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
from skills.sandbox import mirror, stage
from skills.sandbox.launcher import Isolation, build_env, go_line, home_folders, launch_argv, preexec_limits
from skills.sandbox.types import Limits
from skills.sandbox.uids import claim_uid
from skills.sandbox.workdir import WorkDir

MODES = ("auto", "bwrap", "unshare", "none")
ISOLATION_ENV = "SKILLS_SANDBOX_ISOLATION"  # force a mode; a forced mode that does not work is an error
ALLOW_ROOT_ENV = "SKILLS_SANDBOX_ALLOW_ROOT"  # "1": run model code as root where no throwaway uid works
PROBE_TIMEOUT_S = 30.0
# -I: neither the caller's working directory nor its environment can change what the probe sees
_PATHS_SCRIPT = ("import json, os, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, "
                 "sys.base_exec_prefix, os.path.realpath(sys.executable)] + [p for p in sys.path if p]))")
ROOT_HINT = ("install bubblewrap; or let the sandbox mirror the interpreter (needs a root-owned "
             f"${mirror.STORE_ENV}, default {mirror.DEFAULT_STORE}); or set SKILLS_SANDBOX_PYTHON to an "
             "interpreter other users can read (e.g. a venv of /usr/bin/python3 outside any 0700 folder); "
             f"{ALLOW_ROOT_ENV}=1 accepts running model code as root")

_lock = threading.Lock()
_cache: Dict[Tuple[str, ...], Isolation] = {}


def default_mode() -> str:
    mode = os.environ.get(ISOLATION_ENV, "auto") or "auto"
    if mode not in MODES:
        raise UsageError(f"{ISOLATION_ENV}={mode!r}: expected one of {', '.join(MODES)}")
    return mode


def allow_root() -> bool:
    value = os.environ.get(ALLOW_ROOT_ENV, "").strip()
    if value not in ("", "0", "1"):
        raise UsageError(f"{ALLOW_ROOT_ENV}={value!r}: expected 1 (or unset)")
    return value == "1"


def detect(python: str, mode: Optional[str] = None) -> Isolation:
    """The strongest working isolation for ``python`` (cached; thread-safe)."""
    mode = mode or default_mode()
    if mode not in MODES:
        raise UsageError(f"unknown sandbox isolation {mode!r}: expected one of {', '.join(MODES)}")
    with _lock:
        key = (python, mode, str(allow_root()), mirror.store(), str(stage.wanted()))
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


def _interpreter_paths(python: str) -> str:
    """The interpreter's prefixes and sys.path as JSON, run outside any sandbox (in an empty folder)."""
    with tempfile.TemporaryDirectory(prefix="skills-sandbox-paths-") as empty:
        out = subprocess.run([python, "-I", "-c", _PATHS_SCRIPT], capture_output=True, text=True, cwd=empty,
                             timeout=PROBE_TIMEOUT_S, env=build_env(_bare(python), empty))
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines()
        raise UsageError(f"sandbox interpreter {python} does not run: {lines[-1] if lines else out.returncode}")
    return out.stdout.strip()


def interpreter_folders(python: str, info: List[str]) -> Tuple[str, ...]:
    """The interpreter's own folders: its prefixes, its executable's folder, and the sys.path entries
    that are absolute existing folders. Path hooks (an editable install's ``__editable__...``),
    zip files and relative entries are never folders to mount: resolved, they would name the
    caller's working directory."""
    found = [os.path.dirname(python), os.path.dirname(os.path.realpath(python)), *info[:4],
             os.path.dirname(info[4])]
    found += [p for p in info[5:] if os.path.isabs(p)]
    out = []
    for path in found:
        for p in (os.path.normpath(path), os.path.realpath(path)):
            if os.path.isabs(p) and os.path.isdir(p) and p != "/":
                out.append(p)
    return tuple(dict.fromkeys(out))


def _hidden() -> Tuple[str, ...]:
    """$HOME and /run become empty under bwrap (credentials live there)."""
    return tuple(h for h in (*home_folders(), "/run") if h != "/" and os.path.isdir(h) and not os.path.islink(h))


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
    uid, lock = claim_uid() if iso.drop_uid else (None, None)
    try:
        with WorkDir(uid, "probe") as workdir:
            limits = Limits(wall_s=PROBE_TIMEOUT_S, cpu_s=PROBE_TIMEOUT_S)
            argv = launch_argv(iso, limits, workdir, uid)
            go = go_line(iso, [iso.python, "-I", "-c", _PATHS_SCRIPT])
            done = subprocess.run(argv, cwd=workdir, env=build_env(iso, workdir), input=go, capture_output=True,
                                  timeout=PROBE_TIMEOUT_S, preexec_fn=preexec_limits(iso, limits))
            out = subprocess.CompletedProcess(argv, done.returncode, done.stdout.decode(errors="replace"),
                                              done.stderr.decode(errors="replace"))
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    finally:
        if lock is not None:
            os.close(lock)
    if out.returncode == 0 and out.stdout.strip() == expected:
        return None
    if out.returncode == 0:
        return "the interpreter sees other prefixes or sys.path inside (unreadable folders?)"
    lines = (out.stderr or out.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit code {out.returncode}"


def _try_stages(iso: Isolation, expected: str, compiled: Optional[str]) -> Tuple[Isolation, Optional[str]]:
    """``iso`` with the compiled stage if it works there, else with prlimit, setpriv and sh."""
    if compiled:
        extra = (os.path.dirname(compiled),) if iso.mode == "bwrap" else ()  # mounted back where hidden
        staged = replace(iso, stage=compiled, paths=iso.paths + extra)
        if _try(staged, expected) is None:
            return staged, None
    return iso, _try(iso, expected)


class _Mirrored:
    """The interpreter's world-readable mirror, built on first need (at most once per probe)."""

    def __init__(self, python: str, expected: str):
        self.python, self.expected = python, expected
        self._done, self.value, self.error = False, None, None

    def get(self) -> Optional[mirror.Mirror]:
        if not self._done:
            self._done = True
            info = json.loads(self.expected)
            if mirror.needed(self.python, info[:4] + info[5:]):
                try:
                    self.value = mirror.mirror(self.python, info)
                except (OSError, mirror.MirrorError) as exc:
                    self.error = f"no mirror of it: {exc}"
        return self.value

    def writable(self) -> bool:
        """Whether a throwaway uid could change the interpreter where no read-only mount protects it."""
        info = json.loads(self.expected)
        return mirror.changeable(self.python, info[:4] + info[5:])

    def expected_inside(self) -> str:
        return json.dumps([self.value.map(p) for p in json.loads(self.expected)])


def _detect(python: str, mode: str) -> Isolation:
    python = _resolve_python(python)
    expected = _interpreter_paths(python)
    paths = interpreter_folders(python, json.loads(expected))
    tools = {t: shutil.which(t) for t in ("bwrap", "unshare", "prlimit", "setpriv", "timeout")}
    tools["sh"] = shutil.which("dash") or shutil.which("sh")  # the shell stage; dash starts fastest
    compiled = stage.compiled()  # limits, uid drop and exec in one program, where it can be built
    root = os.geteuid() == 0
    failures: List[str] = []
    if root and not tools["setpriv"]:
        failures.append("setpriv is not installed (it drops root to a throwaway uid)")
    passes = ([True] if tools["setpriv"] else []) + ([False] if allow_root() else []) if root else [False]
    mirrored = _Mirrored(python, expected)
    for drop in passes:
        for kind in ("bwrap", "unshare", "none"):
            if mode not in ("auto", kind):
                continue
            if kind != "none" and not tools[kind]:
                if f"{kind} is not installed" not in failures:
                    failures.append(f"{kind} is not installed")
                continue
            for shm in ([True, False] if kind == "bwrap" else [False]):
                nproc_base = _own_process_count() + 64 if kind == "none" and not root else 0
                iso = Isolation(mode=kind, python=python, drop_uid=drop, network=kind != "none",
                                filesystem=kind == "bwrap", pids=kind != "none", wrapper=tools.get(kind),
                                hidden=_hidden() if kind == "bwrap" else (), paths=paths,
                                prlimit=tools["prlimit"], setpriv=tools["setpriv"], timeout=tools["timeout"],
                                shell=tools["sh"], shm=shm, nproc_base=nproc_base, as_root=root and not drop)
                label = f"{kind}{' as a throwaway uid' if drop else ' as root' if root else ''}" \
                        f"{' with /dev/shm' if shm else ''}"
                found, error = _try_stages(iso, expected, compiled)
                if error is None and drop and kind != "bwrap" and mirrored.writable():
                    error = "other users can change the interpreter's folders (a program could plant code)"
                if error is None:
                    return _with_note(found, failures)
                failures.append(f"{label}: {error}")
                if drop and mirrored.get() is not None:
                    m = mirrored.value
                    iso = replace(iso, python=m.python, mirror=m.folder, paths=tuple(m.map(p) for p in paths),
                                  program_env=(("LD_LIBRARY_PATH", m.library_path),) if m.library_path else ())
                    found, error = _try_stages(iso, mirrored.expected_inside(), compiled)
                    if error is None:
                        failures[-1] = (f"{label}: other users cannot read {python}, so it runs from a "
                                        f"world-readable mirror in {m.folder}")
                        return _with_note(found, failures)
                    failures.append(f"{label} from the mirror {m.folder}: {error}")
                elif drop and mirrored.error and f"({mirrored.error})" not in failures:
                    failures.append(f"({mirrored.error})")
    why = "; ".join(failures)
    if root and not allow_root():
        raise UsageError(f"sandbox isolation '{mode}' cannot run {python} as a throwaway uid here, and model code "
                         f"never runs as root: {ROOT_HINT} ({why})")
    raise UsageError(f"sandbox isolation '{mode}' does not work here ({why})")


def _with_note(iso: Isolation, failures: List[str]) -> Isolation:
    why = f" ({'; '.join(failures)})" if failures else ""
    notes = []
    if iso.as_root:
        notes.append(f"model code runs as ROOT on the host ({ALLOW_ROOT_ENV}=1): it can read and change whatever "
                     "root can, and max_processes is not enforced; results are flagged as_root=true")
    if iso.mode == "none":
        notes.append("NO network, PID or filesystem isolation for untrusted code: results are flagged "
                     "network_isolated=false, pid_isolated=false, fs_isolated=false; install bubblewrap")
    elif iso.mode == "unshare":
        notes.append("no read-only filesystem for untrusted code (network and PIDs are isolated); "
                     "results are flagged fs_isolated=false; install bubblewrap")
    return replace(iso, note="; ".join(notes) + why) if notes else iso
