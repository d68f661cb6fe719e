"""The code a generation contributes: the reference's extraction rule (eval-metrics.md 6).

Strip the text and drop carriage returns. A ``<think>`` without ``</think>`` means no solution
(empty code); with it, only what follows the first ``</think>`` counts. Then the first fenced
block wins: after the first ```` ```python ```` if there is one, else after the first ```` ``` ````,
up to the next fence (or the end when it is never closed), stripped. Text without fences is taken
whole.
"""

from __future__ import annotations

FENCE = "```"


def extract_code(generation: str, language: str = "python") -> str:
    text = (generation or "").strip().replace("\r", "")
    if "<think>" in text:
        end = text.find("</think>")
        if end < 0:
            return ""
        text = text[end + len("</think>"):].strip()
    for opening in (FENCE + language, FENCE):
        start = text.find(opening)
        if start >= 0:
            text = text[start + len(opening):].strip()
            close = text.find(FENCE)
            if close >= 0:
                text = text[:close].strip()
            break
    return text.strip() if text.startswith(" ") else text
