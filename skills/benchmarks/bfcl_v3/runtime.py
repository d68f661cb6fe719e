"""Where bfcl-eval code runs: its own environment, in a confined long-lived worker process.

bfcl-eval's pins clash with ours, so its code runs in the ``bfcl`` environment (``.venv-bfcl``;
``$SKILLS_PYTHON_BFCL`` or the cluster config's ``environments.bfcl``). Its multi-turn executor and
checker ``eval()`` strings built from model-chosen function and parameter names, so the worker that
runs them (``worker.py``) is started through ``confined``: no network, read-only filesystem, private
``/tmp``, ``$HOME`` hidden, and an environment with no secrets: the code sandbox's own isolation
(``skills.sandbox.confine``). Where it cannot isolate, the sandbox warns loudly and callers record
``bfcl_sandbox: none`` in the rows they produce (``$SKILLS_SANDBOX_ISOLATION=bwrap`` makes that an
error instead).

``Worker`` speaks JSON lines with the worker: one request, one answer, in order; thread-safe.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional

from skills.benchmarks.bfcl_v3 import ENVIRONMENT, PINNED
from skills.config.errors import UsageError

PACKAGE_ROOT = Path(__file__).resolve().parents[3]
PASS_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


def bfcl_python() -> str:
    """Interpreter of the bfcl environment (this one when already running inside it)."""
    from skills.config.interpreters import INSIDE_ENV, environment_python, python_env_var

    if os.environ.get(INSIDE_ENV) == ENVIRONMENT:
        return sys.executable
    python = environment_python(ENVIRONMENT)
    if python is None:
        raise UsageError(f"BFCL needs the '{ENVIRONMENT}' environment (gorilla's checker): run scripts/setup.sh, "
                         f"add environments.{ENVIRONMENT} to the cluster config, or set {python_env_var(ENVIRONMENT)}")
    return python


def worker_env() -> Dict[str, str]:
    """An allow-list environment: model-run code must not see API keys or tokens."""
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update(worker_extra_env(), HOME="/tmp", TMPDIR="/tmp")
    return env


def worker_extra_env() -> Dict[str, str]:
    """What the confined worker needs besides the sandbox's allow-listed environment (no API key:
    the checker never calls a model)."""
    return {"PYTHONPATH": str(PACKAGE_ROOT), "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}


def confined(argv: List[str], workdir: str):
    """``argv`` (its first item the interpreter) confined by the code sandbox for untrusted work:
    ``skills.sandbox.confine`` decides how (bubblewrap / unshare / none with a loud warning)."""
    from skills.sandbox.confine import confine

    return confine(argv, workdir, read_only=[str(PACKAGE_ROOT)], env=worker_extra_env())


class WorkerError(RuntimeError):
    """The worker answered with an error, or died."""


class WorkerDied(WorkerError):
    """The worker process ended (or garbled its answers); the next call starts a fresh one."""


class Worker:
    """A confined ``python -m skills.benchmarks.bfcl_v3.worker`` in the bfcl environment."""

    def __init__(self, python: Optional[str] = None, timeout_s: float = 600.0, build: str = PINNED):
        self.python = python or bfcl_python()
        self.timeout_s = timeout_s
        self.build = build  # which gorilla code (see the package docstring)
        self._identity: Optional[Dict[str, Any]] = None
        self.proc: Optional[subprocess.Popen] = None
        self.isolation = "none"
        self.lock = threading.Lock()
        self.seq = 0
        self.starts = 0  # incarnation: state kept in the worker (simulated APIs) dies with it
        self.workdir: Optional[str] = None
        self.confined = None  # skills.sandbox.confine.Confined of the running worker

    def start(self) -> None:
        self.starts += 1
        self._release()  # a previous incarnation's uid and work dir
        self.workdir = tempfile.mkdtemp(prefix="skills-bfcl-")
        run = self.confined = confined([self.python, "-m", "skills.benchmarks.bfcl_v3.worker", "--build", self.build],
                                       self.workdir)
        self.isolation = run.isolation + (" as root" if run.as_root else "")
        self.proc = subprocess.Popen(run.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=run.env, cwd=run.cwd, bufsize=1)

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

    def identity(self) -> Dict[str, Any]:
        """What gorilla code the worker runs (``checker``: ``gorilla@<commit>`` / ``bfcl-eval==<v>``);
        a ``WorkerError`` when the environment does not hold the build asked for."""
        if self._identity is None:
            answer = self.call("identity")
            answer.pop("_incarnation", None)
            self._identity = answer
        return self._identity

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                proc.stdin.close()
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        self._release()

    def _release(self) -> None:
        """After the worker ended: its uid back to the sandbox, its work dir removed."""
        if self.confined is not None:
            self.confined.release()
            self.confined = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
