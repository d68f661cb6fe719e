"""Client-side tool-call parsers: raw completion text -> an assistant message with ``tool_calls``.

A parser returns ``{"role": "assistant", "content": str, "tool_calls": [{"name", "arguments"}]}``
(no ``tool_calls`` key when the text holds no call), the shape BFCL's model handlers return, which
the conversation keeps as history. ``++client_parser`` names one: ``skills_json`` (below), or a
``module:function`` path. Models with a BFCL handler use ``++model_name`` instead (its parser runs
in the bfcl environment).

``skills_json`` format (our test models; the vLLM plugin ``vllm_tool_parser.py`` reads the same):
``[optional text]<tool_calls>[{"name": "...", "arguments": {...}}, ...]``.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict

from skills.config.errors import UsageError

MARKER = "<tool_calls>"


def skills_json(text: str) -> Dict[str, Any]:
    head, found, tail = text.partition(MARKER)
    message: Dict[str, Any] = {"role": "assistant", "content": text}
    if not found:
        return message
    try:
        calls = json.loads(tail)
    except json.JSONDecodeError:
        return message  # truncated or malformed: plain text, as a server parser would leave it
    if not isinstance(calls, list):
        return message
    calls = [c for c in calls if isinstance(c, dict) and isinstance(c.get("name"), str)
             and isinstance(c.get("arguments", {}), dict)]
    if calls:
        message["content"] = head.strip()
        message["tool_calls"] = [{"name": c["name"], "arguments": c.get("arguments", {})} for c in calls]
    return message


PARSERS: Dict[str, Callable[[str], Dict[str, Any]]] = {"skills_json": skills_json}


def get_parser(name: str) -> Callable[[str], Dict[str, Any]]:
    if name in PARSERS:
        return PARSERS[name]
    if ":" in name:
        from skills.registry import import_path

        parser = import_path(name, "client parser")
        if callable(parser):
            return parser
    raise UsageError(f"unknown client_parser '{name}' (known: {', '.join(PARSERS)}, or a module:function path)")
