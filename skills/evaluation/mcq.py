"""Multiple-choice grading: pull one letter out of a generation, compare it exactly with the expected one.

Extraction order (the reference's, so letters and no-answer counts agree):
1. relaxed extraction: the last ``\\boxed{}`` content if non-empty, else the last match of
   ``extract_regex`` (``The final answer is (.+)$``);
2. a one-character result is taken as is (not upper-cased, not validated); a longer one gives its
   last standalone capital letter (``\\text{C}``, ``(B)``, ``C) 42``);
3. otherwise the last ``Answer: X`` anywhere (case-insensitive, ``*``/``_`` wrappers allowed),
   upper-cased. ``Answer: (C)`` does not match.
"""

from __future__ import annotations

import re
from typing import Optional

from skills.evaluation.math_grader import DEFAULT_REGEX, extract_answer

_STANDALONE_CAPITAL = re.compile(r"\b[A-Z]\b")
_ANSWER_LINE = re.compile(r"(?i)[\*_]{0,2}Answer[\*_]{0,2}\s*:[\s\*_]{0,2}\s*([A-Z])(?![a-zA-Z0-9])")


def extract_letter(
    generation: Optional[str],
    extract_from_boxed: bool = True,
    extract_regex: str = DEFAULT_REGEX,
    relaxed: bool = True,
) -> Optional[str]:
    """The predicted letter, or None when the generation names none."""
    extracted = extract_answer(generation, extract_from_boxed=extract_from_boxed,
                               extract_regex=extract_regex, relaxed=relaxed)
    letter = None
    if extracted:
        if len(extracted) == 1:
            letter = extracted
        else:
            capitals = _STANDALONE_CAPITAL.findall(extracted)
            letter = capitals[-1] if capitals else None
    if letter is None and generation:
        matches = _ANSWER_LINE.findall(generation)
        letter = matches[-1].upper() if matches else None
    return letter
