"""The tool-calling loop of the generation program (``++tool_modules=[...]``), as the reference's
``ToolCallingWrapper`` runs it; the tools themselves are ``skills.inference.tools``.

Each row's chat request goes out with the ``tools`` of every tool module; while the answer carries
``tool_calls``, the calls of one answer run together, the assistant message and one ``tool`` message
per call (in call order) are appended to the conversation, and the conversation is sent again. The
loop ends at an answer without tool calls, or when ``inference.tokens_to_generate`` (a budget for
the whole row: each answer's tokens are taken off it, and the next request asks for what is left)
is spent. The output line has the answers' texts joined as the generation, ``num_generated_tokens``
summed, ``finish_reason`` (and ``reasoning_content``, when any) as lists with one entry per
answer, ``num_tool_calls`` and the whole ``conversation``.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import time
import uuid
from typing import Any, Callable, Dict, List, Tuple

from skills.config.errors import UsageError
from skills.inference.tools import ToolManager, log


def manager_of(task: Any) -> ToolManager:
    """The task's tools, made on the first row (the same for every row of the run)."""
    manager = getattr(task, "_tool_manager", None)
    if manager is None:
        cfg = task.cfg
        manager = task._tool_manager = ToolManager(list(cfg.tool_modules), dict(cfg.tool_overrides or {}),
                                                   {"sandbox": dict(cfg.sandbox or {})})
    return manager


def tool_message(call: Dict[str, Any], result: Any, endpoint_type: str) -> Dict[str, Any]:
    """What goes back to the model for one call: text as it is, anything else as JSON."""
    content = result if isinstance(result, str) else json.dumps(result, default=str)
    if endpoint_type == "responses":
        return {"type": "function_call_output", "call_id": call.get("call_id"), "output": content}
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    return {"role": "tool", "name": function.get("name"), "tool_call_id": call.get("id"), "content": content}


def call_details(call: Any, endpoint_type: str) -> Tuple[Any, Any]:
    if not isinstance(call, dict):
        return None, None
    if endpoint_type == "responses":
        return call.get("name"), call.get("arguments")
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    return function.get("name"), function.get("arguments")


async def run_call(manager: ToolManager, call: Any, request_id: str, endpoint_type: str) -> Any:
    """One call's result; a call that cannot be parsed or fails says so to the model (as the reference)."""
    name, arguments = call_details(call, endpoint_type)
    try:
        arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
        if arguments is None:
            raise ValueError("no arguments")
    except ValueError:
        log(f"tool call arguments are not JSON: {str(arguments)[:200]}")
        return {"error": "Tool argument parsing failed."}
    try:
        return await manager.execute(name, arguments, request_id)
    except UsageError:
        raise  # a setting is wrong: the run stops with one line
    except Exception as exc:
        log(f"tool call {name!r} failed: {type(exc).__name__}: {str(exc)[:200]}")
        return {"error": "Tool execution failed."}


def assistant_items(comp: Any, endpoint_type: str) -> List[Dict[str, Any]]:
    """The answer as it goes back into the conversation."""
    calls = comp.extra.get("tool_calls") or []
    if endpoint_type == "responses":
        items: List[Dict[str, Any]] = [{"role": "assistant", "content": comp.text}] if comp.text else []
        return items + [dict(c) for c in calls if isinstance(c, dict)]
    message: Dict[str, Any] = {"role": "assistant", "content": comp.text or (None if calls else "")}
    if comp.extra.get("reasoning_content"):
        message["reasoning_content"] = comp.extra["reasoning_content"]
    if calls:
        message["tool_calls"] = calls
    return [message]


async def process_with_tools(task: Any, row: Dict[str, Any], request: Any, client: Any,
                             cut_at_stop: Callable[[str, List[str], bool], str]) -> Dict[str, Any]:
    """One row's conversation with tools (see the module docstring); the output line. ``cut_at_stop``
    is the task's stop-phrase rule (``skills.inference.task.cut_at_stop``), applied to each answer."""
    from skills.inference.reasoning import apply_reasoning

    cfg = task.cfg
    endpoint_type = cfg.inference.endpoint_type
    manager = manager_of(task)
    tools = await manager.request_tools(endpoint_type)
    stops = list(cfg.inference.stop) + ([cfg.stop_phrase] if cfg.stop_phrase else [])
    conversation = copy.deepcopy(request)
    request_id = str(uuid.uuid4())
    budget = cfg.inference.tokens_to_generate
    texts: List[str] = []
    tokens = 0
    reasoning: List[Any] = []
    finish: List[str] = []
    num_calls = 0
    start = time.time()
    try:
        while budget is None or budget > 0:
            step_cfg = cfg if budget == cfg.inference.tokens_to_generate else \
                dataclasses.replace(cfg, inference=dataclasses.replace(cfg.inference, tokens_to_generate=budget))
            comp = await client.complete(step_cfg, messages=conversation, tools=tools)
            used = comp.num_generated_tokens or 0
            if budget is not None:
                budget -= used
            texts.append(cut_at_stop(comp.text, stops, cfg.keep_stop_phrase))
            tokens += used
            if comp.extra.get("reasoning_content"):
                reasoning.append(comp.extra["reasoning_content"])
            if comp.finish_reason:
                finish.append(comp.finish_reason)
            conversation.extend(assistant_items(comp, endpoint_type))
            calls = comp.extra.get("tool_calls") or []
            if not calls:
                break
            results = await asyncio.gather(*(run_call(manager, c, request_id, endpoint_type) for c in calls))
            conversation.extend(tool_message(c if isinstance(c, dict) else {}, r, endpoint_type)
                                for c, r in zip(calls, results))
            num_calls += len(calls)
    finally:
        await manager.end_request(request_id)
    end = time.time()
    key = cfg.generation_key
    out: Dict[str, Any] = {key: "".join(texts), "num_generated_tokens": tokens}
    if reasoning:
        out["reasoning_content"] = reasoning
    out.update(finish_reason=finish, num_tool_calls=num_calls, conversation=conversation)
    if cfg.parse_reasoning:
        apply_reasoning(out, key, cfg.end_reasoning_string, cfg.trust_server_reasoning)
    if cfg.add_generation_stats:
        out.update(generation_start_time=start, generation_end_time=end, generation_time=end - start)
    else:
        out.pop("num_generated_tokens")
    for k, v in row.items():
        if k not in out:
            out[k] = v
    return out


def close_tools(task: Any) -> None:
    """Shut the run's tools down (from ``GenerationTask.close``, after the requests' event loop)."""
    manager = getattr(task, "_tool_manager", None)
    if manager is not None:
        task._tool_manager = None
        try:
            asyncio.run(manager.shutdown())
        except RuntimeError:
            pass  # called inside a running loop: the process is ending anyway
