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

Each generation has its own Python session (``skills.inference.python_session.PythonSession``: IPython
in our sandbox, state kept by replay), the kind the Python tool runs in too. Settings:
``++server.code_execution.*`` (``CodeExecutionConfig``), as the reference names them.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import time
from typing import Any, Dict, Optional, Tuple

from skills.inference.client import GenerationError
from skills.inference.python_session import PythonSession
from skills.inference.responses import Completion


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
    session = PythonSession(sandbox if sandbox is not None else _sandbox(), ce.code_execution_language,
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
