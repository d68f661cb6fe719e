"""Split a reasoning model's output into thoughts and answer (``++parse_reasoning=True``).

Graders must only see the final answer: a generation cut off inside its thinking (no end string,
e.g. it ran out of tokens) becomes ``""`` and is graded as "no answer", never on half thoughts.
"""

from __future__ import annotations

from typing import Any, Dict


def split_reasoning(text: str, end_string: str = "</think>") -> Dict[str, Any]:
    """Fields to merge into the output row: answer, full text, whether thinking finished."""
    text = text or ""
    head, sep, tail = text.rpartition(end_string)
    finished = bool(sep) and bool(end_string)
    return {
        "answer": tail.strip() if finished else "",
        "_full_generation": text,
        "_generation_finished_thinking": finished,
    }


def apply_reasoning(row: Dict[str, Any], key: str, end_string: str, trust_server: bool = False) -> None:
    """Rewrite ``row[key]`` in place; keep the full text in ``_full_generation``.

    As the reference: a text without ``end_string`` becomes ``""``, also when the server's reasoning
    parser already moved the thoughts to ``reasoning_content`` (so ``++parse_reasoning=True`` and a
    server-side parser together score every answer as missing, NeMo-Skills#1390). ``trust_server``
    (``++trust_server_reasoning=True``) keeps such a content as the answer instead; thinking then
    counts as finished unless the request stopped on the length limit with no answer text.
    """
    text = row.get(key) or ""
    if trust_server and row.get("reasoning_content") and end_string not in text:
        row["_full_generation"] = text
        row["_generation_finished_thinking"] = bool(text.strip()) or row.get("finish_reason") != "length"
        return
    parts = split_reasoning(text, end_string)
    row[key] = parts.pop("answer")
    row.update(parts)
