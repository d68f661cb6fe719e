"""One stateful Python session in our code sandbox: what code execution during generation
(``skills.inference.code_execution``) and the Python tool (``skills.inference.python_tool``) both
run model-written code in, as the reference runs both in its sandbox's IPython sessions.

The sandbox runs every execution in a fresh isolated process, so a session's state is kept by
replaying: ``python_session_driver.py`` (our code, sent to the sandbox as its program, with the job
as ``job.json.gz``, the protocol of ``skills.sandbox.jobs``) re-runs the session's earlier cells with
their output discarded (the reference restores a restarted session the same way), then runs the new
cell in IPython with ``run_cell`` under a time limit (SIGINT at the limit; a cell still running
``GRACE_S`` later is given up, as the reference's server kills the shell). The result is the
reference sandbox's answer: ``{"process_status": completed | error | timeout, "stdout", "stderr"}``,
the streams cleaned as its server cleans them (plain/minimal tracebacks) and each cut at
``max_output`` characters (``<output cut>``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

from skills.inference.client import GenerationError, ServerUnavailable

DRIVER = Path(__file__).with_name("python_session_driver.py")  # runs in the sandbox (our code, not the model's)
CAPTURE_CAP = 200_000  # characters of a cell's stdout/stderr the driver keeps (before the final cut)
GRACE_S = 0.5  # after the interrupt, as the reference's server waits before killing the shell
START_S = 30.0  # the sandbox's allowance for starting the interpreter and importing IPython
RESTORE_FAILED = ("RuntimeError: the sandbox could not restore this session's state (an earlier code block "
                  "failed or did not finish when it was run again); the session was reset: run the code again without "
                  "relying on earlier blocks.\n")


def timed_out(timeout: float) -> str:
    """The reference server's notice; its timeout is a float (both callers pass one), e.g. ``10.0``."""
    return f"Execution timed out after {float(timeout)} seconds\n"


_ANSI = re.compile(r"\x1B(?:[@-Z\-_]|\[[0-?]*[ -/]*[@-~])")


def clean_output(text: str, verbosity: str) -> str:
    """What the reference's server makes of a cell's captured stream with ``plain``/``minimal``
    tracebacks: colours removed, the ``File <ipython-...>`` lines and ``Out[N]:`` prefixes dropped,
    leading empty lines and trailing blanks removed, one final newline when anything is left."""
    if verbosity not in ("Plain", "Minimal"):
        return text
    lines = []
    for line in _ANSI.sub("", text).split("\n"):
        if line.strip().startswith("File <ipython-"):
            continue
        lines.append(re.sub(r"^Out\[\d+\]:\s*", "", line))
    while lines and lines[0] == "":
        lines.pop(0)
    text = "\n".join(lines).rstrip()
    return text + "\n" if text else ""


def cut(result: Dict[str, str], limit: int) -> Dict[str, str]:
    """stdout and stderr cut to ``limit`` characters each, marked ``<output cut>`` (the reference's rule)."""
    for key in ("stdout", "stderr"):
        if len(result[key]) > limit:
            result[key] = result[key][:limit] + "<output cut>"
    return result


@dataclass
class PythonSession:
    """One session's code state: the cells to replay before the next one (an IPython session's
    history), each with whether the time limit interrupted it. Cells that completed, raised or were
    interrupted are replayed (a live session keeps what they did up to the error or the interrupt; an
    interrupted one is interrupted again at the same limit); a replayed cell that now raises is fine,
    one that now runs into the limit ends the session (an error the caller reads, and a fresh start).
    A cell killed after it ignored the interrupt (or that ended the interpreter) restarts the session
    from the cells that completed, as the reference restores a restarted shell from its history of
    completed cells; there each of them must complete again, or the restoration fails (an error the
    caller reads, and a fresh start).

    ``language="python"``: each cell runs alone as a plain program (no state, no IPython), as the
    reference's ``python`` language. ``run`` raises ``ServerUnavailable`` when the sandbox service
    cannot be reached, ``UsageError`` when the sandbox's interpreter has no IPython."""

    sandbox: Any
    language: str = "ipython"
    timeout: float = 10.0
    max_output: int = 1000
    verbosity: str = "Plain"
    memory_mb: int = 8192
    replay: List[list] = field(default_factory=list)  # [code, interrupted before, restoring a restart]
    completed: List[str] = field(default_factory=list)

    def _limits(self, cells: int) -> Any:
        from skills.sandbox import Limits

        wall = START_S + (self.timeout + GRACE_S) * cells if self.language == "ipython" else self.timeout
        return Limits(cpu_s=None, wall_s=wall, memory_mb=int(self.memory_mb), max_processes=256)

    async def run(self, code: str) -> Dict[str, str]:
        """process_status (completed | error | timeout), stdout, stderr, as the reference's sandbox answers."""
        from skills.sandbox.client import SandboxUnavailable

        try:
            result = await asyncio.to_thread(self._run_sync, code)
        except SandboxUnavailable as exc:
            raise ServerUnavailable(f"code execution: {exc}") from None
        return cut(result, self.max_output)

    def _run_sync(self, code: str) -> Dict[str, str]:
        if self.language != "ipython":
            res = self.sandbox.execute(code, files={}, limits=self._limits(1), env={"PYTHONUNBUFFERED": "1"})
            if res.status == "timeout":
                return {"process_status": "timeout", "stdout": "", "stderr": timed_out(self.timeout)}
            self._check(res)
            return {"process_status": "completed", "stdout": res.stdout, "stderr": res.stderr}
        from skills.sandbox.jobs import run_job

        job = {"replay": self.replay, "code": code, "timeout": self.timeout, "grace": GRACE_S,
               "verbosity": self.verbosity, "cap": CAPTURE_CAP}
        res, answer = run_job(self.sandbox, DRIVER, job, self._limits(len(self.replay) + 1),
                              env={"PYTHONUNBUFFERED": "1"})
        if answer is None:
            if res.status == "timeout":  # the whole execution overran: as a shell killed after the interrupt
                self._restart()
                return {"process_status": "timeout", "stdout": "", "stderr": timed_out(self.timeout)}
            self._check(res)  # else the cell ended the interpreter (os._exit, a crash): as a dead shell
            self._restart()
            return {"process_status": "error", "stdout": "", "stderr": "connection closed\n"}
        status = answer["status"]
        if status == "no_ipython":
            from skills.config.errors import UsageError  # a set-up problem: the run stops, no row is soft-failed

            raise UsageError("the code sandbox's interpreter has no IPython (code execution and the Python tool "
                             "need it): build the sandbox environment (python -m skills.environments build "
                             "sandbox) or point SKILLS_SANDBOX_PYTHON at an interpreter with IPython")
        if status == "replay_failed":
            self.replay, self.completed = [], []
            return {"process_status": "error", "stdout": "", "stderr": RESTORE_FAILED}
        if status == "killed":  # the cell ignored the interrupt: as the reference's shell, killed and restarted
            self._restart()
            return {"process_status": "timeout", "stdout": "", "stderr": timed_out(self.timeout)}
        out, err = (clean_output(answer[k], self.verbosity) for k in ("stdout", "stderr"))
        if status == "interrupted":  # the interrupt escaped IPython's own handling (the reference: a timeout)
            self.replay.append([code, True, False])
            return {"process_status": "timeout", "stdout": out,
                    "stderr": clean_output(answer["stderr"] + timed_out(self.timeout), self.verbosity)}
        self.replay.append([code, bool(answer.get("fired")), False])  # replayed until the same interrupt
        if status == "ok":
            self.completed.append(code)
        return {"process_status": "completed" if status == "ok" else "error", "stdout": out, "stderr": err}

    def _restart(self) -> None:
        """The shell is gone: the next execution restores it from the cells that completed."""
        self.replay = [[code, False, True] for code in self.completed]

    @staticmethod
    def _check(res: Any) -> None:
        if res.status == "sandbox_error":
            raise GenerationError(f"the code sandbox failed: {res.stderr.strip()[-300:]}")
