"""Where bfcl-eval code runs: its own environment, in a confined long-lived worker process.

bfcl-eval's pins clash with ours, so its code runs in the ``bfcl`` environment (``.venv-bfcl``;
``$SKILLS_PYTHON_BFCL`` or the cluster config's ``environments.bfcl``). Its multi-turn executor and
checker ``eval()`` strings built from model-chosen function and parameter names, so the worker that
runs them (``worker.py``) is started through ``confined``: no network, read-only filesystem, private
``/tmp``, ``$HOME`` hidden, and an environment with no secrets. ``confined`` is the one place that
decides how; where bubblewrap does not work it warns loudly and callers record ``bfcl_sandbox: none``
in the rows they produce (``$SKILLS_SANDBOX_ISOLATION=bwrap`` makes that an error instead).

``Worker`` speaks JSON lines with the worker: one request, one answer, in order; thread-safe.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from skills.benchmarks.bfcl_v3 import ENVIRONMENT
from skills.config.errors import UsageError

PACKAGE_ROOT = Path(__file__).resolve().parents[3]
ISOLATION_ENV = "SKILLS_SANDBOX_ISOLATION"  # auto | bwrap | none (shared with skills.sandbox)
PLACEHOLDER_KEY = "unused-by-bfcl-checker"  # bfcl-eval builds an OpenAI client it never calls
PASS_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
_PATHS = "import json, os, sys; print(json.dumps([sys.prefix, sys.base_prefix, os.path.realpath(sys.executable)]))"


def bfcl_python() -> str:
    """Interpreter of the bfcl environment (this one when already running inside it)."""
    from skills.evaluation.external import INSIDE_ENV, environment_python, python_env_var

    if os.environ.get(INSIDE_ENV) == ENVIRONMENT:
        return sys.executable
    python = environment_python(ENVIRONMENT)
    if python is None:
        raise UsageError(f"BFCL needs the '{ENVIRONMENT}' environment (bfcl-eval==2025.7.17): run scripts/setup.sh, "
                         f"add environments.{ENVIRONMENT} to the cluster config, or set {python_env_var(ENVIRONMENT)}")
    return python


def worker_env() -> Dict[str, str]:
    """An allow-list environment: model-run code must not see API keys or tokens."""
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update(PYTHONPATH=str(PACKAGE_ROOT), PYTHONDONTWRITEBYTECODE="1", HOME="/tmp", TMPDIR="/tmp",
               OPENAI_API_KEY=PLACEHOLDER_KEY, OMP_NUM_THREADS="1")
    return env


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _bwrap_argv(python: str) -> List[str]:
    """bwrap options: everything read-only, no namespaces shared, $HOME and /run emptied (the
    interpreter's and this package's folders inside them are mounted back)."""
    out = subprocess.run([python, "-c", _PATHS], capture_output=True, text=True, timeout=60)
    needed = json.loads(out.stdout) + [str(PACKAGE_ROOT), str(Path(python).parent)]
    needed = [os.path.dirname(p) if os.path.isfile(p) else p for p in needed]
    home = os.path.realpath(os.path.expanduser("~"))
    hidden = [h for h in (home, "/run") if h != "/" and os.path.isdir(h) and not os.path.islink(h)]
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/", "/",
            "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for h in hidden:
        argv += ["--tmpfs", h]
        for p in sorted({os.path.realpath(p) for p in needed} | set(needed)):
            if _within(p, h) and os.path.isdir(p):
                argv += ["--ro-bind", p, p]
    return argv + ["--chdir", "/tmp", "--"]


@lru_cache(maxsize=None)
def isolation(python: str) -> Tuple[str, Tuple[str, ...]]:
    """("bwrap", prefix) where bubblewrap works for this interpreter, else ("none", ()) with a warning."""
    mode = os.environ.get(ISOLATION_ENV, "auto") or "auto"
    if mode not in ("auto", "bwrap", "unshare", "none"):
        raise UsageError(f"${ISOLATION_ENV}={mode!r}: expected auto, bwrap, unshare or none")
    why = "forced by $SKILLS_SANDBOX_ISOLATION=none"
    if mode != "none":
        if shutil.which("bwrap") is None:
            why = "bwrap is not installed"
        else:
            try:
                prefix = _bwrap_argv(python)
                probe = subprocess.run(prefix + [python, "-c", "print('ok')"], capture_output=True, text=True,
                                       timeout=60, env=worker_env())
                if probe.stdout.strip() == "ok":
                    return "bwrap", tuple(prefix)
                why = "bwrap failed: " + ((probe.stderr.strip().splitlines() or ["?"])[-1])
            except (OSError, subprocess.SubprocessError, ValueError) as exc:
                why = f"bwrap failed: {exc}"
    if mode in ("bwrap", "unshare"):
        raise UsageError(f"${ISOLATION_ENV}={mode} but BFCL's executor cannot be confined here ({why})")
    print(f"warning: bfcl: model-chosen function calls run WITHOUT a sandbox (no network, filesystem or PID "
          f"isolation; rows are flagged bfcl_sandbox=none): {why}; install bubblewrap", file=sys.stderr, flush=True)
    return "none", ()


def confined(argv: List[str]) -> Tuple[List[str], str]:
    """``argv`` (its first item the interpreter) wrapped for untrusted work, and the isolation used."""
    mode, prefix = isolation(argv[0])
    return list(prefix) + list(argv), mode


class WorkerError(RuntimeError):
    """The worker answered with an error, or died."""


class WorkerDied(WorkerError):
    """The worker process ended (or garbled its answers); the next call starts a fresh one."""


class Worker:
    """A confined ``python -m skills.benchmarks.bfcl_v3.worker`` in the bfcl environment."""

    def __init__(self, python: Optional[str] = None, timeout_s: float = 600.0):
        self.python = python or bfcl_python()
        self.timeout_s = timeout_s
        self.proc: Optional[subprocess.Popen] = None
        self.isolation = "none"
        self.lock = threading.Lock()
        self.seq = 0
        self.starts = 0  # incarnation: state kept in the worker (simulated APIs) dies with it

    def start(self) -> None:
        self.starts += 1
        argv, self.isolation = confined([self.python, "-m", "skills.benchmarks.bfcl_v3.worker"])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=worker_env(), cwd="/tmp", bufsize=1)

    def call(self, op: str, **request: Any) -> Dict[str, Any]:
        """The answer to one request (``_incarnation``: which worker process gave it)."""
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            proc = self.proc
            self.seq += 1
            watchdog = threading.Timer(self.timeout_s, proc.kill)  # a hang the worker's own alarm missed
            watchdog.start()
            try:
                proc.stdin.write(json.dumps({"op": op, "seq": self.seq, **request}) + "\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
            except (BrokenPipeError, OSError):
                line = ""
            finally:
                watchdog.cancel()
            if not line:
                self.proc = None
                raise WorkerDied(f"the BFCL worker died during '{op}' (exit code {proc.wait()}; its stderr is above)")
            try:
                answer = json.loads(line)
            except json.JSONDecodeError:
                answer = {}
            if answer.pop("seq", None) != self.seq:
                self.close()
                raise WorkerDied(f"the BFCL worker's answer to '{op}' is garbled")
            if "error" in answer:
                raise WorkerError(answer["error"])
            answer["_incarnation"] = self.starts
            return answer

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                proc.stdin.close()
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
