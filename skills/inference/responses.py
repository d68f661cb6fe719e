"""What one call to an OpenAI-compatible endpoint gets back: a 200 body checked to carry a completion
(``completion_problem``) and the fields graders and metrics read (``parse_response``), for chat and text
completions and the Responses API. Server text is made safe to print (``printable``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Optional


@dataclass
class Completion:
    """Parsed answer of one request (fields named as in the output lines)."""

    text: str
    num_generated_tokens: Optional[int] = None
    finish_reason: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)  # reasoning_content, tool_calls, ...


_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def printable(text: str, limit: int = 1000) -> str:
    """A server's text made safe for a terminal or a log: escape sequences and control characters
    removed (a hostile body must not move the cursor, retitle the window or hide lines), newlines
    kept as spaces, then cut to ``limit`` characters."""
    text = _CONTROL.sub("", text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    return text if len(text) <= limit else text[:limit] + "..."


def _brief(value: Any, limit: int = 300) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return printable(text, limit)


def completion_problem(data: Any, path: str) -> Optional[str]:
    """Why a 200 answer to ``path`` carries no completion (None if it does).

    Gateways and proxies send errors with status 200 (``{"error": ...}``, ``{}``, empty or null
    ``choices``, a null ``message``); treating those as an empty answer would grade every row
    "no answer" and report 0% with exit 0, so they are retried like a 5xx and then fail the row."""
    if not isinstance(data, dict):
        return f"the body is not a JSON object: {_brief(data)}"
    if data.get("error"):
        return f"error: {_brief(data['error'])}"
    if not isinstance(data.get("usage"), (dict, type(None))):
        return f"'usage' is not an object: {_brief(data)}"
    if path.endswith("/responses"):
        output = data.get("output")
        if not isinstance(output, list) or not all(isinstance(item, dict) for item in output):
            return f"no 'output' list: {_brief(data)}"
        return None
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        return f"no 'choices': {_brief(data)}"
    choice = choices[0]
    if not isinstance(choice, dict):
        return f"'choices[0]' is not an object: {_brief(data)}"
    if path.endswith("/chat/completions"):
        msg = choice.get("message")
        if not isinstance(msg, dict):
            return f"'choices[0].message' is {'missing' if msg is None else 'not an object'}: {_brief(data)}"
        content = msg.get("content")
        if not isinstance(content, (str, list, type(None))):
            return f"'message.content' is neither text nor a list of parts: {_brief(data)}"
        if content is None and not (msg.get("tool_calls") or msg.get("reasoning_content") or msg.get("reasoning")):
            return f"the message has no content: {_brief(data)}"
        return None
    if path.endswith("/completions") and not isinstance(choice.get("text"), str):
        return f"'choices[0].text' is not text: {_brief(data)}"
    return None


def _text(content: Any) -> str:
    """``content`` as text: a string, or OpenAI content parts (``[{"type": "text", "text": ...}]``) joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p if isinstance(p, str) else p.get("text") if isinstance(p, dict) else None for p in content]
        return "".join(p for p in parts if isinstance(p, str))
    return ""


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_responses_api(data: dict) -> Completion:
    """A Responses API answer: message texts joined, reasoning texts kept, function calls as tool calls."""
    text, reasoning, calls = "", [], []
    for item in data.get("output") or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        content = item.get("content")
        parts = [c.get("text") for c in content if isinstance(c, dict) and isinstance(c.get("text"), str)] \
            if isinstance(content, list) else []
        if kind == "message":
            text += "".join(parts)
        elif kind == "reasoning":
            reasoning.extend(parts)
        elif kind == "function_call":
            calls.append(item)
    usage = _dict(data.get("usage"))
    extra: Dict[str, Any] = {}
    if reasoning:
        extra["reasoning_content"] = "\n".join(reasoning).strip()
    if calls:
        extra["tool_calls"], text = calls, ""
    details = _dict(usage.get("output_tokens_details"))
    output_tokens, reasoning_tokens = _int(usage.get("output_tokens")), _int(details.get("reasoning_tokens"))
    if reasoning_tokens is not None and output_tokens is not None:
        extra["num_reasoning_tokens"] = reasoning_tokens
        extra["num_answer_tokens"] = output_tokens - reasoning_tokens
    status = data.get("status")
    return Completion(text, output_tokens, status if isinstance(status, str) else None, extra)


def parse_response(data: dict, chat: bool) -> Completion:
    """Pick the fields graders and metrics read from an OpenAI-style response (fields of the wrong
    type count as absent: ``completion_problem`` has already refused bodies without a completion)."""
    data = _dict(data)
    if "output" in data and "choices" not in data:
        return parse_responses_api(data)
    choices = data.get("choices")
    choice = _dict(choices[0] if isinstance(choices, list) and choices else None)
    usage = _dict(data.get("usage"))
    extra: Dict[str, Any] = {}
    if chat:
        msg = _dict(choice.get("message"))
        text = _text(msg.get("content"))
        reasoning = msg.get("reasoning_content") or msg.get("reasoning")
        if reasoning:
            extra["reasoning_content"] = reasoning if isinstance(reasoning, str) else _text(reasoning)
        if msg.get("tool_calls"):
            extra["tool_calls"] = msg["tool_calls"]
    else:
        text = _text(choice.get("text"))
        stop = choice.get("stop_reason") or choice.get("matched_stop")
        if isinstance(stop, str) and choice.get("finish_reason") == "stop":
            text += stop  # vLLM/sglang strip the matched stop string from text completions
    details = _dict(usage.get("completion_tokens_details"))
    completion_tokens, reasoning_tokens = _int(usage.get("completion_tokens")), _int(details.get("reasoning_tokens"))
    if reasoning_tokens is not None and completion_tokens is not None:
        extra["num_reasoning_tokens"] = reasoning_tokens
        extra["num_answer_tokens"] = completion_tokens - reasoning_tokens
    if choice.get("logprobs") is not None:
        extra["logprobs"] = choice["logprobs"]
    finish = choice.get("finish_reason")
    return Completion(text, completion_tokens, finish if isinstance(finish, str) else None, extra)
