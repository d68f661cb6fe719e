"""Runs INSIDE the sandbox, with the sandbox's interpreter: one call of the Python tool
(``skills.inference.tools.PythonTool``). Standard library only; read as text and sent as the
sandbox's ``main.py``, never imported by skills.

The session is rebuilt by replaying its earlier cells (their output discarded), then the new cell
runs as an interactive shell runs it: the value of a last expression statement is shown (unless
the cell ends with ``;``), an exception is shown as a plain traceback on stdout, and each cell has
its own time limit. Input ``job.json.gz``: ``{"history": [code, ...], "code": str, "timeout":
seconds, "keep": characters kept per stream, "nonce": str}``. One line ``<nonce><JSON>`` goes to a
private copy of stdout: ``{"status": "completed" | "error" | "timeout" | "replay_failed", "stdout":
str, "stderr": str, "replayed": n}``; the program's own output never reaches fd 1 or 2.
"""

import ast
import builtins
import gzip
import io
import json
import linecache
import os
import signal
import sys
import traceback

JOB = "job.json.gz"


class CellTimeout(BaseException):
    """Raised by the alarm: a cell ran past its time limit (not an Exception, so ``except
    Exception`` in the cell does not swallow it)."""


class Capped(io.TextIOBase):
    """A text stream keeping its first ``keep`` characters (a loop printing for seconds must not
    fill the memory); the rest is counted, not stored."""

    def __init__(self, keep):
        self.parts, self.kept, self.keep = [], 0, keep

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        if self.kept < self.keep:
            piece = text[: self.keep - self.kept]
            self.parts.append(piece)
            self.kept += len(piece)
        return len(text)

    def flush(self):
        pass

    def value(self):
        return "".join(self.parts)


def cell_name(number):
    return f"<ipython-cell-{number}>"


def compile_cell(code, number):
    """(module code, last expression code or None) of one cell, its source kept for tracebacks."""
    name = cell_name(number)
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    tree = ast.parse(code, filename=name)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
        last = ast.Expression(tree.body.pop().value)
    return compile(tree, name, "exec"), (compile(last, name, "eval") if last is not None else None)


def where(filename, lineno, func):
    if filename.startswith("<ipython-cell-"):
        number = filename[len("<ipython-cell-"):-1]
        return f"Cell In[{number}], line {lineno}" + ("" if func == "<module>" else f", in {func}")
    return f"File {filename}:{lineno}, in {func}"


def plain_traceback(exc):
    """The exception as an interactive shell's plain traceback: only the frames from the cells on."""
    frames = traceback.extract_tb(exc.__traceback__)
    first = next((i for i, f in enumerate(frames) if f.filename.startswith("<ipython-cell-")), len(frames))
    lines = ["Traceback (most recent call last):", ""]
    for frame in frames[first:]:
        lines.append("  " + where(frame.filename, frame.lineno, frame.name))
        if frame.line:
            lines.append("    " + frame.line.strip())
        lines.append("")
    if isinstance(exc, SyntaxError) and not frames[first:]:
        lines = []
        head = exc.filename or ""
        lines.append("  " + (where(head, exc.lineno, "<module>") if head.startswith("<ipython-cell-")
                             else f"File {head}:{exc.lineno}"))
        text = (exc.text or "").rstrip("\n")
        if text:
            lines.append("    " + text.strip())
            if exc.offset:
                indent = len(text) - len(text.lstrip())
                lines.append("    " + " " * max(exc.offset - 1 - indent, 0) + "^")
        lines.append(f"{type(exc).__name__}: {exc.msg}")
        return "\n".join(lines) + "\n"
    lines.append("".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n"))
    return "\n".join(lines) + "\n"


def run_cell(code, number, namespace, timeout, keep):
    """(status, stdout, stderr) of one cell."""
    out, err = Capped(keep), Capped(keep)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    status = "completed"
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            body, last = compile_cell(code, number)
            exec(body, namespace)
            if last is not None:
                value = eval(last, namespace)
                if value is not None:
                    namespace["_"] = value
                    out.write(repr(value) + "\n")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except CellTimeout:
        status = "timeout"
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included: the shell shows them too
        status = "error"
        out.write(plain_traceback(exc))
    finally:
        sys.stdout, sys.stderr = saved
    if status == "timeout":
        err.write(f"Execution timed out after {timeout_text(timeout)} seconds\n")
    return status, out.value(), err.value()


def timeout_text(timeout):
    return str(int(timeout)) if float(timeout).is_integer() else str(timeout)


def main():
    with open(JOB, "rb") as fh:
        job = json.loads(gzip.decompress(fh.read()))
    os.remove(JOB)
    private = os.fdopen(os.dup(1), "w")  # taken before any cell runs: only the driver writes here
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    sys.stdin = open(os.devnull)

    def alarm(signum, frame):
        raise CellTimeout()

    signal.signal(signal.SIGALRM, alarm)
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    timeout, keep = float(job["timeout"]), int(job["keep"])
    verdict = None
    for number, cell in enumerate(job["history"], start=1):
        status, _, _ = run_cell(cell["code"], number, namespace, timeout, keep)
        if status == "timeout" or (status != cell["status"]):
            verdict = {"status": "replay_failed", "stdout": "", "stderr": "", "replayed": number - 1}
            break
    if verdict is None:
        number = len(job["history"]) + 1
        status, stdout, stderr = run_cell(job["code"], number, namespace, timeout, keep)
        verdict = {"status": status, "stdout": stdout, "stderr": stderr, "replayed": number - 1}
    private.write(job["nonce"] + json.dumps(verdict) + "\n")
    private.flush()
    os._exit(0)  # threads or handlers a cell left behind must not hold the process


if __name__ == "__main__":
    main()
