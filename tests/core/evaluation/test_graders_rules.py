"""Grader rules pinned one by one against the reference description
(reference/eval-metrics.md in the shared reference folder, sections 3.1, 3.2 and 4). Each test names its rule."""

from __future__ import annotations

import json

import pytest

from tests.helpers.files import read_jsonl

from skills.config.errors import UsageError
from skills.evaluation import MATH_DEFAULTS, grade_file, grade_row
from skills.evaluation.math_grader import _strip_extras, extract_answer, math_equal, search_boxed
from skills.evaluation.mcq import extract_letter


# --- 3.1 answer extraction -------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    # 3.1: "`\fbox` is effectively unsupported": no `\boxed` in the text -> None
    ("\\fbox{7}", None),
    # 3.1: the LAST `\boxed` wins; a later `\fbox` is ignored
    ("\\boxed{1} and finally \\fbox{x=3}", "1"),
    ("\\fbox{1} and finally \\boxed{2}", "2"),
    # 3.1: the last `\boxed` is taken even if it is malformed (no fallback to an earlier one)
    ("\\boxed{1} then \\boxed 2", None),
    ("\\boxed{1} then \\boxed{2", None),
    # 3.1: the brace scan starts at `\boxed`, so any `{...}` after `\boxed x` makes the candidate invalid
    ("\\boxed x {y}", None),
    # 3.1: content is verbatim (units, degrees, percent, `x=`, text, intervals, matrices untouched)
    ("\\boxed{30^\\circ}", "30^\\circ"),
    ("\\boxed{10\\%}", "10\\%"),
    ("\\boxed{x = 3}", "x = 3"),
    ("\\boxed{5 \\text{ cm}}", "5 \\text{ cm}"),
    ("\\boxed{(1, 2]}", "(1, 2]"),
    ("\\boxed{\\begin{pmatrix}1\\\\2\\end{pmatrix}}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
    ("\\boxed{ 5 }", " 5 "),  # no stripping
    # 3.1 / 0: the grader does not look at `<think>`; reasoning is split off at generation time
    ("<think>maybe \\boxed{1}</think> so \\boxed{2}", "2"),
    ("<think>unfinished, maybe \\boxed{3}", "3"),
    # 3.1: `\boxed{}` is the empty answer, not a missing one
    ("\\boxed{}", ""),
])
def test_search_boxed_rules(text, expected):
    assert search_boxed(text) == expected
    assert extract_answer(text) == expected  # the math path is boxed-only


def test_regex_mode_rules():
    # 3.1: findall with no flags, last match: `$` only matches at the very end (or before a final newline)
    assert extract_answer("The final answer is 1\nThe final answer is 2", extract_from_boxed=False) == "2"
    assert extract_answer("The final answer is 1\n", extract_from_boxed=False) == "1"
    assert extract_answer("the final answer is 1", extract_from_boxed=False) is None  # case-sensitive
    # 3.1: relaxed = boxed if non-empty, else regex; empty box and no regex -> None
    assert extract_answer("\\boxed{}", relaxed=True) is None
    assert extract_answer("\\boxed{} The final answer is 4", relaxed=True) == "4"


def test_math_grading_writes_none_and_empty(tmp_path):
    """3.1: no answer is None (JSON null); `\\boxed{}` is "" and simply wrong."""
    path = tmp_path / "output.jsonl"
    rows = [{"generation": "\\fbox{3}", "expected_answer": "3"},
            {"generation": "\\boxed{}", "expected_answer": "3"},
            {"generation": "", "expected_answer": "3"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    stats = grade_file(path, "math", {"num_workers": 1})
    out = read_jsonl(path)
    assert [r["predicted_answer"] for r in out] == [None, "", None]
    assert [r["symbolic_correct"] for r in out] == [False, False, False]
    assert stats["no_answer"] == 2


# --- 3.2 equivalence -------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, stripped", [
    # 3.2 step 4: digits, optional decimal part, then `%` or `\%` (a bare trailing `.` counts as a
    # decimal part: `10.%` -> `10.` -> `10`); then trailing `.` and `\` are stripped
    ("10.%", "10"),
    ("10.\\%", "10"),
    ("12.5%", "12.5"),
    ("-5%", "-5%"),  # a sign is not a digit: untouched
    ("5 %", "5 %"),
    ("185\\", "185"),
    ("3.", "3"),
])
def test_strip_extras(raw, stripped):
    assert _strip_extras(raw) == stripped


def test_symbolic_parse_uses_latex_extraction_only():
    # 3.2 step 6: parse with LatexExtractionConfig only; the default extra ExprExtractionConfig would
    # read `2**3` as 2 and call it equal to 2
    assert not math_equal("2", "2**3")
    assert not math_equal("2**3", "2")


def test_letter_shortcut_only_short_circuits_on_success():
    # 3.2 step 3: letters A..J (J included); not equal -> continue to the literal check, where a
    # lower-case letter is a different literal
    assert math_equal("J", "J")
    assert not math_equal("J", "j")
    assert math_equal(" B", "B")
    assert not math_equal("A", "B")


# --- 4 multiple choice -----------------------------------------------------------------------------

@pytest.mark.parametrize("generation, letter", [
    ("\\boxed{J}", "J"),  # MMLU-Pro letters go up to J
    ("\\boxed{\\text{(G)}}", "G"),
    ("Answer: \\boxed{H}", "H"),
    ("Answer: I", "I"),
    ("**Answer:** j", "J"),
    ("Answer: Z", "Z"),  # 4.3: any letter; simply wrong later
    ("The final answer is E.", "E"),  # 4.2: longer than one char -> last standalone capital
    ("The final answer is e", "e"),  # 4.2: one character as is
    ("The final answer is option B or maybe C", "C"),
    ("The final answer is unclear\nAnswer: D", "D"),  # regex not on the last line -> fallback
    ("\\boxed{the answer}", None),  # no standalone capital, no `Answer:` -> None
    ("\\boxed{AB}", None),
    ("ANSWER:  b", "B"),  # 4.3: case-insensitive word
    ("Answer :C", "C"),
    ("Answer:\n\nC", "C"),
    ("Answer: C2", None),  # 4.3: letter must not be followed by a letter or digit
    ("\\boxed{ }", " "),  # 4.2: any single character, even a space, is the prediction
])
def test_mcq_rules(generation, letter):
    assert extract_letter(generation) == letter


def test_mcq_exact_match_and_none():
    # 4.4: exact string equality, no normalisation of either side
    assert grade_row({"generation": "\\boxed{c}", "expected_answer": "C"}, "multichoice")["symbolic_correct"] is False
    row = grade_row({"generation": "nothing", "expected_answer": "C"}, "multichoice")
    assert row["predicted_answer"] is None and row["symbolic_correct"] is False


# --- evaluator config ------------------------------------------------------------------------------

def test_use_predicted_answer_key_requires_the_key():
    """3 (use_predicted_answer_key): re-use an existing predicted_answer; a row without one is an error."""
    with pytest.raises(UsageError, match="predicted_answer"):
        grade_row({"generation": "\\boxed{1}", "expected_answer": "1"}, "math", {"use_predicted_answer_key": True})


@pytest.mark.parametrize("eval_type", ["math", "multichoice"])
def test_pipeline_keys_accepted(eval_type):
    """pipeline.md 4.7: eval_config always receives `split` (and `data_dir` if given)."""
    row = grade_row({"generation": "\\boxed{A}", "expected_answer": "A"}, eval_type,
                    {"split": "test", "data_dir": "/data", "input_file": "x.jsonl"})
    assert row["symbolic_correct"] is True


def test_hard_timeout_exceeds_math_verify_worst_case():
    """3.2: math-verify may legitimately spend 2 x 5 s parsing + 10 s verifying (plus the letter parses)
    and still answer; killing the worker earlier would give a verdict the reference never gives."""
    assert MATH_DEFAULTS["hard_timeout"] > 4 * 5 + 10
