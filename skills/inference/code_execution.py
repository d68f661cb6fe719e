"""Code execution during generation (``++code_execution=True``): tool-integrated reasoning as the
reference runs it.

The model writes code between the ``code_tags`` markers (``++code_tags=NAME``); every request also
stops at the closing marker. When a reply ends inside a code block, the block runs in our code
sandbox (``skills.sandbox``, never in this process) and its formatted output is added to the prompt
before the next request: a text prompt grows by the reply and the output; a chat request gets the
reply as an assistant message (the output appended to it) and a user message ``continue``. At most
``max_code_executions`` blocks run, and the model always gets one more turn after the last; each
request asks for what is left of ``tokens_to_generate`` and of ``inference.timeout``. The
generation is everything the model and the sandbox added (chat: the assistant messages joined by
newlines), cut at the stop phrases as any other generation.

State between the blocks of one generation (an IPython session in the reference) is kept by
replaying: the sandbox runs every execution in a fresh isolated process, so each one first re-runs
the generation's earlier blocks with their output discarded (the reference restores a restarted
session the same way), then the new block. Settings: ``++server.code_execution.*``
(``CodeExecutionConfig``), as the reference names them.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from skills.inference.client import GenerationError, ServerUnavailable
from skills.inference.responses import Completion

# the driver: runs inside the sandbox, reads its job from session.json (removed before any cell runs),
# replays the earlier cells silently, runs the new one under a watchdog and writes one result line,
# marked with a nonce, on a private copy of stdout (the cells' own writes to fd 1 go nowhere, as the
# reference's server only captures sys.stdout / sys.stderr)
DRIVER = r'''
import io, json, os, signal, sys, threading, time
from contextlib import redirect_stderr, redirect_stdout

with open("session.json", encoding="utf-8") as f:
    job = json.load(f)
os.remove("session.json")
mark = job.pop("mark")
out = os.fdopen(os.dup(1), "w", encoding="utf-8")
null = os.open(os.devnull, os.O_WRONLY)
os.dup2(null, 1)
lock = threading.Lock()


def answer(result):
    with lock:
        out.write(mark + json.dumps(result) + "\n")
        out.flush()
        os._exit(0)


class Capped(io.TextIOBase):
    def __init__(self, cap):
        self.parts, self.left = [], cap

    def write(self, s):
        if self.left > 0:
            self.parts.append(s[: self.left])
            self.left -= len(self.parts[-1])
        return len(s)

    def value(self):
        return "".join(self.parts)


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


for cell, was_interrupted in job["replay"]:
    status, fired = run(cell, (Capped(0), Capped(0)), True)
    if (fired or status == "interrupted") and not was_interrupted:
        answer({"status": "replay_failed"})
bufs = (Capped(cap), Capped(cap))
status, fired = run(job["code"], bufs)
answer({"status": status, "fired": fired, "stdout": bufs[0].value(), "stderr": bufs[1].value()})
'''

CAPTURE_CAP = 200_000  # characters of a cell's stdout/stderr the driver keeps (before the final cut)
GRACE_S = 0.5  # after the interrupt, as the reference's server waits before killing the shell
START_S = 30.0  # the sandbox's allowance for starting the interpreter and importing IPython
RESTORE_FAILED = ("RuntimeError: the sandbox could not restore this session's state (an earlier code block "
                  "did not finish when it was run again); the session was reset: run the code again without "
                  "relying on earlier blocks.\n")


def timed_out(timeout: float) -> str:
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


def format_code_output(result: Dict[str, str], begin: str, end: str, fmt: str,
                       remaining: Optional[int] = None) -> str:
    """A block's output as the model reads it next: ``llama`` (status line, ``[stdout]``/``[stderr]``
    sections) or ``qwen`` (the bare streams), between the output markers, with the system note about
    the executions left when ``add_remaining_code_executions`` is on."""
    note = ""
    if remaining is not None:
        if remaining > 0:
            note = (f"```system\nRemaining code executions: {remaining}. You will not be able to call code when you "
                    "run out of executions, so use it wisely. Note that you can still continue solving the problem "
                    "without code after that.\n```\n")
        else:
            note = ("```system\nYou have run out of code executions! You can no longer write or execute code. Now you "
                    "should continue solving the problem by relying on your mathematical reasoning and analytical "
                    "skills.\n```\n")
    if fmt == "llama":
        body = result["process_status"]
        if result["stdout"]:
            body += f"\n[stdout]\n{result['stdout']}[/stdout]"
        if result["stderr"]:
            body += f"\n[stderr]\n{result['stderr']}[/stderr]"
        return f"{begin}\n\n{body}{note}{end}\n\n"
    if fmt == "qwen":
        return f"{begin}{result['stdout']}{result['stderr']}{end}{note}"
    raise ValueError(f"unknown code_output_format '{fmt}'")


def code_to_run(text: str, begin: str, end: str) -> str:
    """The last block: what follows the last opening marker, up to the next closing one."""
    return text.split(begin)[-1].split(end)[0]


def in_open_block(text: str, begin: str, end: str) -> bool:
    """The text ends with the closing marker of a block whose opening marker is the last one."""
    return text.endswith(end) and text.rfind(begin) > text.rfind(end, 0, -1)


@dataclass
class CellSession:
    """One generation's code state: the blocks to replay before the next one (an IPython session's
    history), each with whether the time limit interrupted it. Blocks that completed, raised or were
    interrupted are replayed (a live session keeps what they did up to the error or the interrupt; an
    interrupted one is interrupted again at the same limit); a replayed block that now raises is fine,
    one that now runs into the limit ends the session (an error the model reads, and a fresh start).
    A block killed after it ignored the interrupt resets the session to the blocks that completed, as
    the reference's restarted shell is restored from its history of completed blocks."""

    sandbox: Any
    language: str = "ipython"
    timeout: float = 10.0
    max_output: int = 1000
    verbosity: str = "Plain"
    replay: List[list] = field(default_factory=list)  # [code, interrupted before]
    completed: List[list] = field(default_factory=list)

    def _limits(self, cells: int) -> Any:
        from skills.sandbox import Limits

        wall = START_S + (self.timeout + GRACE_S) * cells if self.language == "ipython" else self.timeout
        return Limits(cpu_s=None, wall_s=wall, memory_mb=8192, max_processes=256)

    def _execute(self, code: str, files: Dict[str, str], cells: int) -> Any:
        return self.sandbox.execute(code, files=files, limits=self._limits(cells), env={"PYTHONUNBUFFERED": "1"})

    async def run(self, code: str) -> Dict[str, str]:
        """process_status (completed | error | timeout), stdout, stderr, as the reference's sandbox answers."""
        from skills.sandbox.client import SandboxUnavailable

        try:
            result = await asyncio.to_thread(self._run_sync, code)
        except SandboxUnavailable as exc:  # no row can go on: the run stops with one line (not soft-failed)
            raise ServerUnavailable(f"code execution: {exc}") from None
        return cut(result, self.max_output)

    def _run_sync(self, code: str) -> Dict[str, str]:
        if self.language != "ipython":
            res = self._execute(code, {}, 1)
            if res.status == "timeout":
                return {"process_status": "timeout", "stdout": "", "stderr": timed_out(self.timeout)}
            self._check(res)
            return {"process_status": "completed", "stdout": res.stdout, "stderr": res.stderr}
        mark = "@@skills-cell-" + secrets.token_hex(16) + "@@"
        job = {"mark": mark, "replay": self.replay, "code": code, "timeout": self.timeout, "grace": GRACE_S,
               "verbosity": self.verbosity, "cap": CAPTURE_CAP}
        res = self._execute(DRIVER, {"session.json": json.dumps(job)}, len(self.replay) + 1)
        answer = None
        for line in res.stdout.splitlines():
            if line.startswith(mark):
                answer = json.loads(line[len(mark):])
        if answer is None:
            if res.status == "timeout":  # the whole execution overran: as a shell killed after the interrupt
                self.replay = list(self.completed)
                return {"process_status": "timeout", "stdout": "", "stderr": timed_out(self.timeout)}
            self._check(res)  # else the cell ended the interpreter (os._exit, a crash): as a dead shell
            self.replay = list(self.completed)
            return {"process_status": "error", "stdout": "", "stderr": "connection closed\n"}
        status = answer["status"]
        if status == "no_ipython":
            from skills.config.errors import UsageError  # a set-up problem: the run stops, no row is soft-failed

            raise UsageError("the code sandbox's interpreter has no IPython (code_execution_language=ipython "
                             "needs it): build the sandbox environment (python -m skills.environments build "
                             "sandbox) or point SKILLS_SANDBOX_PYTHON at an interpreter with IPython")
        if status == "replay_failed":
            self.replay, self.completed = [], []
            return {"process_status": "error", "stdout": "", "stderr": RESTORE_FAILED}
        if status == "killed":  # the block ignored the interrupt: as the reference's shell, killed and restarted
            self.replay = list(self.completed)
            return {"process_status": "timeout", "stdout": "", "stderr": timed_out(self.timeout)}
        out, err = (clean_output(answer[k], self.verbosity) for k in ("stdout", "stderr"))
        if status == "interrupted":  # the interrupt escaped IPython's own handling (the reference: a timeout)
            self.replay.append([code, True])
            return {"process_status": "timeout", "stdout": out,
                    "stderr": clean_output(answer["stderr"] + timed_out(self.timeout), self.verbosity)}
        self.replay.append([code, bool(answer.get("fired"))])  # replayed until the same interrupt
        if status == "ok":
            self.completed.append([code, False])
        return {"process_status": "completed" if status == "ok" else "error", "stdout": out, "stderr": err}

    @staticmethod
    def _check(res: Any) -> None:
        if res.status == "sandbox_error":
            raise GenerationError(f"the code sandbox failed: {res.stderr.strip()[-300:]}")


def code_tags_of(task: Any) -> Dict[str, str]:
    builder = getattr(task, "_builder", None)
    if builder is None:
        from skills.inference.prompts import PromptBuilder

        builder = task._builder = PromptBuilder(task.cfg)
    tags = builder.prompt.code_tags if builder.prompt is not None else None
    if not tags:
        from skills.config.errors import UsageError

        raise UsageError("code_execution needs ++code_tags=NAME")
    return tags


def _sandbox() -> Any:
    from skills.sandbox.client import sandbox_from_env

    return sandbox_from_env()


async def generate_with_code(task: Any, row: Dict[str, Any], request: Any, client: Any,
                             sandbox: Any = None) -> Tuple[Completion, float]:
    """The reference's loop for one row: (the completion the output line is built from, its start time)."""
    cfg = task.cfg
    ce = cfg.server.code_execution
    tags = code_tags_of(task)
    begin, end = tags["code_begin"], tags["code_end"]
    max_runs = ce.max_code_executions
    if cfg.override_max_code_executions and cfg.total_code_executions_in_prompt is not None:
        max_runs = int(row["total_code_executions"])
    session = CellSession(sandbox if sandbox is not None else _sandbox(), ce.code_execution_language,
                          float(ce.code_execution_timeout), ce.max_code_output_characters,
                          ce.sandbox_traceback_verbosity.capitalize())
    header = "\n".join(ce.code_execution_headers)
    chat = task.chat
    prompt = copy.deepcopy(request)
    inf = cfg.inference
    stops = list(inf.stop) + ([cfg.stop_phrase] if cfg.stop_phrase else []) + [end]
    tokens, timeout = inf.tokens_to_generate, inf.timeout
    wall_start = time.time()
    start = int(wall_start)
    rounds = total_tokens = timeouts = 0
    generation_time = execution_time = 0
    finish = None
    for index in range(max_runs + 1):
        round_start = time.time()
        budget = None
        if timeout is not None:
            budget = int(timeout - (time.time() - start))
            if budget <= 0:
                break
        one = copy.copy(cfg)
        one.inference = dataclasses.replace(inf, stop=stops, tokens_to_generate=tokens)
        call = client.complete(one, messages=prompt) if chat else client.complete(one, prompt=prompt)
        try:
            comp = await (asyncio.wait_for(call, budget) if budget is not None else call)
        except asyncio.TimeoutError:
            raise GenerationError(f"code execution: the model did not answer within the time left of "
                                  f"inference.timeout ({budget} s)") from None
        output, used = comp.text, comp.num_generated_tokens or 0
        finish = comp.finish_reason
        if output.count(end) + 1 == output.count(begin):  # the server dropped the stop phrase it stopped at
            output += end
        if chat:
            prompt.append({"role": "assistant", "content": output})
            prompt.append({"role": "user", "content": "continue"})
        else:
            prompt += output
        if index == max_runs:  # the turn after the last execution
            break
        if tokens is not None:
            tokens -= used
        total_tokens += used
        generation_time += int(time.time() - round_start)
        if tokens is not None and tokens <= 0:
            break
        if not in_open_block(output, begin, end):
            break
        run_start = time.time()
        result = await session.run(header + code_to_run(output, begin, end))
        remaining = max_runs - index - 1 if ce.add_remaining_code_executions else None
        shown = format_code_output(result, tags["code_output_begin"], tags["code_output_end"],
                                   tags["code_output_format"], remaining)
        if result["process_status"] == "timeout":
            timeouts += 1
        if chat:
            prompt[-2]["content"] += shown
        else:
            prompt += shown
        execution_time += int(time.time() - run_start)
        rounds += 1
    if chat:
        text = "\n".join(m["content"] for m in prompt if m["role"] == "assistant")
    else:
        text = prompt[len(request):]
    extra = {"code_rounds_executed": rounds, "generation_time": generation_time,
             "code_execution_time": execution_time, "stopped_on_repetition": False, "num_code_timeouts": timeouts}
    return Completion(text=text, num_generated_tokens=total_tokens, finish_reason=finish, extra=extra), wall_start
