"""Runs INSIDE the sandbox, with the sandbox's interpreter: one cell of a Python session
(``skills.inference.python_session``), for code execution during generation and for the Python tool.
Read as text and sent as the sandbox's ``main.py``, never imported by skills.

The session's earlier cells are replayed first, their output discarded; then the new cell runs in
IPython (``TerminalInteractiveShell.run_cell``, the traceback mode asked for), as the reference's
sandbox server runs it, each cell under a watchdog: at the time limit the cell gets SIGINT, and if
it has not finished ``grace`` seconds later the driver gives up on it.

Input ``job.json.gz``: ``{"replay": [[code, interrupted before, restoring], ...], "code": str, "timeout": s,
"grace": s, "verbosity": "Plain" | ..., "cap": characters kept per stream, "nonce": str}`` (removed
before any cell runs). Output: one line ``<nonce><JSON>`` on a private copy of stdout, ``{"status":
"ok" | "error" | "interrupted" | "killed" | "replay_failed" | "no_ipython", "fired": the watchdog
interrupted the cell, "stdout": str, "stderr": str}``; the cells' own writes to fd 1 go nowhere
(the reference's server only captures ``sys.stdout`` / ``sys.stderr``).
"""

import io
import os
import signal
import threading
from contextlib import redirect_stderr, redirect_stdout

from skills_job import take_job  # sent beside this driver by skills.sandbox.jobs.run_job


class Capped(io.TextIOBase):
    """A text stream keeping its first ``cap`` characters (a loop printing for seconds must not
    fill the memory); the rest is dropped."""

    def __init__(self, cap):
        self.parts, self.left = [], cap

    def writable(self):
        return True

    def write(self, s):
        if self.left > 0:
            self.parts.append(s[: self.left])
            self.left -= len(self.parts[-1])
        return len(s)

    def value(self):
        return "".join(self.parts)


def main():
    # the private copy of stdout is taken before any cell runs: only the driver writes there; the
    # process ends with its line (threads or handlers a cell left behind must not hold it)
    job, answer = take_job(silence=(1,), exit_after=True)

    try:
        from IPython.terminal.interactiveshell import TerminalInteractiveShell
    except ImportError:
        answer({"status": "no_ipython"})
    shell = TerminalInteractiveShell()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    cap, timeout, grace = job["cap"], job["timeout"], job["grace"]

    def run(code, bufs, replaying=False):
        shell.InteractiveTB.set_mode(mode=job["verbosity"])
        done, fired = threading.Event(), threading.Event()

        def watchdog():
            if done.wait(timeout):
                return
            fired.set()
            os.kill(os.getpid(), signal.SIGINT)
            if done.wait(grace):
                return
            answer({"status": "replay_failed" if replaying else "killed"})

        threading.Thread(target=watchdog, daemon=True).start()
        try:
            with redirect_stdout(bufs[0]), redirect_stderr(bufs[1]):
                res = shell.run_cell(code)
            status = "error" if (res.error_before_exec or res.error_in_exec) else "ok"
        except KeyboardInterrupt:
            status = "interrupted"
        done.set()
        return status, fired.is_set()

    for cell, was_interrupted, restoring in job["replay"]:
        status, fired = run(cell, (Capped(0), Capped(0)), True)
        if (fired or status == "interrupted") and not was_interrupted:
            answer({"status": "replay_failed"})  # it now runs into the limit: the state cannot be rebuilt
        if restoring and status != "ok":
            answer({"status": "replay_failed"})  # a cell restoring a restarted shell must complete
    bufs = (Capped(cap), Capped(cap))
    status, fired = run(job["code"], bufs)
    answer({"status": status, "fired": fired, "stdout": bufs[0].value(), "stderr": bufs[1].value()})


if __name__ == "__main__":
    main()
