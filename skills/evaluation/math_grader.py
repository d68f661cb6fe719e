"""Math grading: ``\\boxed{}`` answer extraction and math-verify equivalence.

Extraction and equivalence follow the reference evaluator's decisions exactly (see docs/benchmarks.md),
since our ``predicted_answer``/``symbolic_correct`` must agree with it row by row; so ``\\fbox{...}`` is
not an answer, as there. Equivalence runs through math-verify + sympy, which can take unbounded time
on pathological input; ``MathChecker`` therefore runs it in worker processes and kills a worker that
overruns its hard timeout, counting that answer as not equal.
"""

from __future__ import annotations

import re
from typing import Optional

DEFAULT_REGEX = r"The final answer is (.+)$"
BOX = "\\boxed"
MCQ_LETTERS = tuple("ABCDEFGHIJ")
_PERCENT = re.compile(r"(\d+\.?\d*)(?:\\%|%)")  # `10.%` counts too
_LITERAL = re.compile(r"[a-zA-Z ,]+|[0-9 ]+")
_DELIMITED = re.compile(r"\$.*?\$|\\\(.*?\\\)|\\\[.*?\\\]|\\boxed\{", re.DOTALL)
_DIGITS = re.compile(r"[0-9]+")


def search_boxed(text: Optional[str]) -> Optional[str]:
    """Content of the LAST ``\\boxed{...}`` with balanced braces, else None.

    ``\\boxed{}`` gives "" (an answer, not a missing one); ``\\boxed 5``, unbalanced boxes and a
    malformed last box give None (no fallback to an earlier box).
    """
    start = text.rfind(BOX) if text else -1
    if start < 0:
        return None
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                candidate = text[start : i + 1]
                prefix = BOX + "{"
                return candidate[len(prefix) : -1] if candidate.startswith(prefix) else None
    return None


def search_regex(text: Optional[str], pattern: str = DEFAULT_REGEX) -> Optional[str]:
    """Last match of ``pattern`` (no flags), as the reference's regex mode."""
    if not text:
        return None
    matches = re.findall(pattern, text)
    return matches[-1] if matches else None


def extract_answer(
    text: Optional[str],
    extract_from_boxed: bool = True,
    extract_regex: str = DEFAULT_REGEX,
    relaxed: bool = False,
) -> Optional[str]:
    """Boxed-only by default; relaxed = boxed when non-empty, else the regex."""
    if relaxed:
        return search_boxed(text) or search_regex(text, extract_regex)
    if extract_from_boxed:
        return search_boxed(text)
    return search_regex(text, extract_regex)


def _strip_extras(s: str) -> str:
    """Drop a percent sign after a plain number, then trailing dots and backslashes."""
    m = _PERCENT.fullmatch(s)
    if m:
        s = m.group(1)
    return s.rstrip(".\\")


def _wrap(s: str) -> str:
    return s if _DELIMITED.search(s) else f"${s}$"


def quick_equal(expected, predicted, take_modulo: Optional[int] = None) -> Optional[bool]:
    """``math_equal``'s verdict where it needs neither sympy nor math-verify, else None.

    No answer; ``take_modulo`` (integers only); two plain digit strings, which latex normalization
    leaves as they are and which then count as equal only when identical (``"012"`` is not ``"12"``,
    as in the reference). ``MathChecker`` decides these in the parent, without a worker."""
    if predicted is None:
        return False
    expected, predicted = str(expected), str(predicted)
    if take_modulo is not None:
        try:
            return int(expected) % take_modulo == int(predicted) % take_modulo
        except ValueError:
            return False
    if _DIGITS.fullmatch(expected) and _DIGITS.fullmatch(predicted):
        return expected == predicted
    return None


def math_equal(expected, predicted, take_modulo: Optional[int] = None, numeric_precision: int = 15,
               timeout_seconds: int = 10) -> bool:
    """Reference-compatible equivalence (gold first); run it through ``MathChecker`` for a hard timeout."""
    quick = quick_equal(expected, predicted, take_modulo)
    if quick is not None:
        return quick
    return slow_equal(expected, predicted, numeric_precision, timeout_seconds)


def slow_equal(expected, predicted, numeric_precision: int = 15, timeout_seconds: int = 10) -> bool:
    """The math-verify path of ``math_equal`` (no ``take_modulo``; ``predicted`` not None)."""
    from latex2sympy2_extended import NormalizationConfig, normalize_latex
    from math_verify import LatexExtractionConfig, StringExtractionConfig, parse, verify

    expected, predicted = str(expected), str(predicted)
    if re.fullmatch(r"[A-J]", expected.strip()):
        letters = [StringExtractionConfig(strings=MCQ_LETTERS)]
        if verify(parse(expected, letters), parse(predicted, letters)):
            return True
    expected, predicted = _strip_extras(expected), _strip_extras(predicted)
    a = normalize_latex(expected, NormalizationConfig())
    b = normalize_latex(predicted, NormalizationConfig())
    same = a.replace(" ", "") == b.replace(" ", "")
    if same or (_LITERAL.fullmatch(a) and _LITERAL.fullmatch(b)):
        return same
    latex = [LatexExtractionConfig()]  # Latex only: parse()'s default also tries plain expressions
    return verify(parse(_wrap(expected), latex), parse(_wrap(predicted), latex),
                  numeric_precision=numeric_precision, timeout_seconds=timeout_seconds)
