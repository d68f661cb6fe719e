"""Option values every command parses alike: id lists (``--chunk_ids``, ``--random_seeds``) and JSON
objects (``--metrics_kwargs``, ``--sbatch_kwargs``, ``--judge_pipeline_kwargs``); errors are one line
naming the option.
"""

from __future__ import annotations

import json
from typing import Dict, List, Optional

from skills.config.errors import UsageError


def parse_ids(text: Optional[str], what: str) -> Optional[List[int]]:
    """``a,b,c`` or ``a..b`` (inclusive) -> ints; None stays None."""
    if text is None or str(text).strip() == "":
        return None
    text = str(text).strip()
    try:
        if ".." in text:
            lo, hi = text.split("..", 1)
            ids = list(range(int(lo), int(hi) + 1))
        else:
            ids = [int(x) for x in text.split(",")]
    except ValueError:
        raise UsageError(f"--{what} must be 'a,b,c' or 'a..b' with integers, got '{text}'") from None
    if not ids:
        raise UsageError(f"--{what} '{text}' selects nothing")
    if len(set(ids)) != len(ids):
        raise UsageError(f"--{what} '{text}' lists an id twice (two jobs would write one file)")
    if min(ids) < 0:
        raise UsageError(f"--{what} '{text}': ids must be >= 0")
    return ids


def parse_json_kwargs(text: Optional[str], flag: str) -> Dict[str, str]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{flag} must be a JSON object: {exc.msg} at position {exc.pos}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{flag} must be a JSON object, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}
