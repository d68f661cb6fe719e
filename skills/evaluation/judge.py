"""LLM-judge verdict parsing.

Judges (HLE's ``judge/hle`` prompt and the math judges) end their answer with a line
``Judgement: yes`` / ``Judgement: no``. The reference reads the verdict strictly, and our numbers
must match its ``judge_correct``, so the rule is deliberately literal: the exact, case-sensitive
token ``Judgement:`` (the ``Judgment:`` spelling does not count), its LAST occurrence wins, and the
text after it, stripped and lower-cased, must start with ``yes``. Markup such as ``**yes**`` is not
a yes. Anything unparsable is a "no".
"""

from __future__ import annotations

from typing import Optional

VERDICT_TOKEN = "Judgement:"


def parse_judgement(text: Optional[str]) -> Optional[bool]:
    """True for yes, False for no, None when no verdict can be read (missing token, markup...)."""
    if not isinstance(text, str):
        return None
    pos = text.rfind(VERDICT_TOKEN)
    if pos < 0:
        return None
    verdict = text[pos + len(VERDICT_TOKEN) :].strip().lower()
    if verdict.startswith("yes"):
        return True
    if verdict.startswith("no"):
        return False
    return None


def is_correct_judgement(text: Optional[str]) -> bool:
    """Whether a judge output says the answer is correct (unreadable verdicts count as incorrect)."""
    return parse_judgement(text) is True
