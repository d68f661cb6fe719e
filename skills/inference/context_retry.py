"""``++server.context_limit_retry_strategy=reduce_generation``: one retry with a smaller budget.

When the server refuses a request because prompt + ``max_tokens`` exceed the model's context, the
reference (with ``++server.enable_soft_fail=True``) reads the context size and the prompt length
from the error text and retries once with the generation budget cut to what fits, minus
``server.num_special_tokens_budget``. The error texts are those of vLLM, SGLang and the OpenAI API.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional, Tuple

_PATTERNS = (  # (regex, group of the context size, group of the prompt tokens)
    (r"maximum context length is (\d+) tokens.*?request has (\d+) input tokens", 1, 2),
    (r"The input \((\d+) tokens\) is longer than the model's context length \((\d+) tokens\)", 2, 1),
    (r"maximum context length is (\d+) tokens.*?you requested \d+ tokens.*?(\d+) in the messages, \d+ in the "
     r"completion", 1, 2),
    (r"maximum context length of (\d+) tokens.*?total of \d+ tokens.*?(\d+) tokens from the input messages", 1, 2),
)


def parse_context_error(text: str) -> Optional[Tuple[int, int]]:
    """(context size, prompt tokens) from a context-length error message, or None."""
    for pattern, ctx, prompt in _PATTERNS:
        m = re.search(pattern, text, re.IGNORECASE | re.DOTALL)
        if m:
            return int(m.group(ctx)), int(m.group(prompt))
    return None


def reduced_body(cfg: Any, body: Dict[str, Any], error: str) -> Optional[Dict[str, Any]]:
    """The request again with the generation budget that fits, or None (strategy off / not a context error)."""
    server = cfg.server
    if getattr(server, "context_limit_retry_strategy", None) != "reduce_generation":
        return None
    parsed = parse_context_error(error)
    if parsed is None:
        return None
    context, prompt = parsed
    budget = context - int(getattr(server, "num_special_tokens_budget", 100)) - prompt
    if budget <= 0:
        return None
    key = next((k for k in ("max_tokens", "max_completion_tokens", "max_output_tokens") if k in body), "max_tokens")
    smaller = dict(body)
    smaller[key] = min(budget, body[key]) if body.get(key) is not None else budget
    return smaller
