"""vLLM tool-call parser plugin ``skills_json``: server-side parsing for models that write
``[optional text]<tool_calls>[{"name": "...", "arguments": {...}}, ...]`` (our tiny test model).

A standalone file for vLLM's plugin mechanism (it imports vLLM, never ``skills``), loaded like the
tutorial loads Nemotron's parser from the model folder::

    vllm serve MODEL --enable-auto-tool-choice --tool-parser-plugin /abs/path/vllm_tool_parser.py \\
        --tool-call-parser skills_json

Text before the marker becomes ``content``; the valid calls (a string ``name``, object ``arguments``)
become ``tool_calls`` with the arguments as a JSON string. Anything unparsable stays text. The
client-side parser of the same format is ``skills.benchmarks.bfcl_v3.parsers.skills_json``.
"""

from __future__ import annotations

import json
from typing import List, Optional, Sequence, Tuple

from vllm.entrypoints.generate.base.protocol import (DeltaFunctionCall, DeltaMessage, DeltaToolCall,
                                                     ExtractedToolCallInformation, FunctionCall, ToolCall)
from vllm.tool_parsers.abstract_tool_parser import ToolParser, ToolParserManager

MARKER = "<tool_calls>"


def split_calls(text: str) -> Tuple[str, Optional[List[Tuple[str, str]]]]:
    """(text before the marker, [(name, arguments JSON)]) or (text, None) when there is no valid call."""
    head, found, tail = text.partition(MARKER)
    if not found:
        return text, None
    try:
        calls = json.loads(tail)
    except json.JSONDecodeError:
        return text, None
    if not isinstance(calls, list):
        return text, None
    valid = [(c["name"], json.dumps(c.get("arguments", {}))) for c in calls
             if isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("arguments", {}), dict)]
    return (head.strip(), valid) if valid else (text, None)


def _held_back(text: str) -> int:
    """Length of a suffix of ``text`` that may be the start of the marker (not streamed yet)."""
    return next((k for k in range(len(MARKER) - 1, 0, -1) if text.endswith(MARKER[:k])), 0)


@ToolParserManager.register_module("skills_json")
class SkillsJsonToolParser(ToolParser):
    def extract_tool_calls(self, model_output: str, request) -> ExtractedToolCallInformation:
        content, calls = split_calls(model_output)
        if calls is None:
            return ExtractedToolCallInformation(tools_called=False, tool_calls=[], content=model_output)
        return ExtractedToolCallInformation(
            tools_called=True, content=content or None,
            tool_calls=[ToolCall(type="function", function=FunctionCall(name=n, arguments=a)) for n, a in calls])

    def extract_tool_calls_streaming(self, previous_text: str, current_text: str, delta_text: str,
                                     previous_token_ids: Sequence[int], current_token_ids: Sequence[int],
                                     delta_token_ids: Sequence[int], request) -> Optional[DeltaMessage]:
        """Content streams until the marker; the calls come whole, once their array parses."""
        if MARKER not in current_text:
            start = len(previous_text) - _held_back(previous_text)
            new = current_text[start:len(current_text) - _held_back(current_text)]
            return DeltaMessage(content=new) if new else None
        if self.prev_tool_call_arr:
            return None
        head = current_text.partition(MARKER)[0]
        if MARKER not in previous_text:  # flush what was held back before the marker
            start = len(previous_text) - _held_back(previous_text)
            pending = head[start:]
        else:
            pending = ""
        _, calls = split_calls(current_text)
        if calls is None:
            return DeltaMessage(content=pending) if pending else None
        self.prev_tool_call_arr = [{"name": n, "arguments": json.loads(a)} for n, a in calls]
        self.streamed_args_for_tool = [a for _, a in calls]
        self.current_tool_id = len(calls) - 1
        deltas = [DeltaToolCall(index=i, type="function", id=ToolCall(function=FunctionCall(name=n, arguments=a)).id,
                                function=DeltaFunctionCall(name=n, arguments=a).model_dump(exclude_none=True))
                  for i, (n, a) in enumerate(calls)]
        return DeltaMessage(content=pending or None, tool_calls=deltas)
