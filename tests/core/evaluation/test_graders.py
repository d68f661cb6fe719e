"""Graders: boxed extraction, math equivalence (eval-metrics.md 3.1-3.2), MCQ letters (section 4),
and the atomic, pool-backed file grading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl

from skills.config.errors import UsageError
from skills.evaluation import grade_file, grade_row, regrade_files
from skills.evaluation.math_grader import extract_answer, math_equal, search_boxed
from skills.evaluation.mcq import extract_letter
from skills.evaluation.pool import MathChecker


@pytest.mark.parametrize("text, expected", [
    ("so \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
    ("\\boxed{\\left\\{1,2\\right\\}}", "\\left\\{1,2\\right\\}"),
    ("\\boxed{{a}{b}}", "{a}{b}"),
    ("first \\boxed{1} then \\boxed{2}", "2"),
    ("\\boxed{}", ""),
    ("no box here, the answer is 5", None),
    ("\\boxed 5", None),
    ("\\boxed {5}", None),
    ("\\boxed{5", None),
    ("\\fbox{7}", None),  # as the reference: \fbox is not a box
    ("\\boxed{1} and finally \\fbox{x=3}", "1"),
    ("\\fbox{1} and finally \\boxed{2}", "2"),
    ("", None),
    (None, None),
])
def test_search_boxed(text, expected):
    assert search_boxed(text) == expected


def test_extract_modes():
    assert extract_answer("The final answer is 42") is None  # math path: boxed only
    assert extract_answer("The final answer is 42", extract_from_boxed=False) == "42"
    assert extract_answer("x\nThe final answer is 42\nmore", extract_from_boxed=False) is None
    assert extract_answer("\\boxed{} The final answer is 4", relaxed=True) == "4"
    assert extract_answer("\\boxed{3} The final answer is 4", relaxed=True) == "3"


EQUAL = [
    ("5", "5.0"), ("1/2", "0.5"), ("918\\frac{1}{2}", "918.5"), ("x^2+2x+1", "x^2 + 2*x + 1"),
    ("y = x^2+2x+1", "2x+ 1+x^2"), ("E", "\\mathrm{E}"), ("A", "\\textbf{A}"), ("185", "185\\"),
    (".185", "0.185"), ("17\\text{ any text}", "17"), ("\\$10", "10"), ("10%", "10"), ("10\\%", "10"),
    ("\\frac{1}{3}", "\\dfrac{1}{3}"), ("(r+5)(r+5)", "(r+5)^2"),
    ("\\frac{\\sqrt{3}}{3}", "\\frac{\\sqrt{3}}{3} \\approx 0.577"),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}"),
    # hard cases from MATH-style answers
    ("\\frac{3}{4}", "0.75"), ("\\frac{\\sqrt{2}}{2}", "\\sqrt{2}/2"), ("2\\sqrt{3}", "\\sqrt{12}"),
    ("(1, 2]", "(1,2]"), ("(-\\infty, 3)", "(-\\infty,3)"), ("30", "30^\\circ"), ("50", "50\\%"),
    ("3", "x=3"), ("\\text{odd}", "odd"), ("\\text{Monday}", "Monday"),
]
UNEQUAL = [
    ("5", "5.001"), ("x^2+2x+1", "x^3+2x+1"), ("odd", "\\text{oddd}"), ("E", "\\mathrm{E}*2"),
    ("\\sqrt{67},-\\sqrt{85}", "\\sqrt{67}"), ("\\frac{3}{4}", "\\frac{4}{3}"), ("(1,2]", "[1,2]"),
    ("(-\\infty, 3)", "(-\\infty,3]"), ("odd", "even"), ("50\\%", "0.5"),
    ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix}1\\\\3\\end{pmatrix}"),
]


@pytest.mark.parametrize("a, b", EQUAL)
def test_math_equal_pairs(a, b):
    assert math_equal(a, b) and math_equal(b, a)


@pytest.mark.parametrize("a, b", UNEQUAL)
def test_math_unequal_pairs(a, b):
    assert not math_equal(a, b) and not math_equal(b, a)


def test_math_equal_none_and_modulo():
    assert math_equal("0", None) is False
    assert math_equal(5, 5) is True
    assert math_equal("1003", "3", take_modulo=1000) is True
    assert math_equal("3", "abc", take_modulo=1000) is False


@pytest.mark.parametrize("generation, letter", [
    ("\\boxed{C}", "C"),
    ("\\boxed{\\text{C}}", "C"),
    ("Answer: \\boxed{B}", "B"),
    ("The final answer is (B)", "B"),
    ("The final answer is C) 42", "C"),
    ("\\boxed{c}", "c"),  # one character is taken as is, not upper-cased
    ("\\boxed{5}", "5"),
    ("Answer: A", "A"),
    ("**Answer:** b", "B"),
    ("__Answer__: d", "D"),
    ("answer: a\nAnswer: C", "C"),
    ("Answer: (C)", None),
    ("Answer: Cat", None),
    ("I think it is B", None),
    ("\\boxed{} Answer: D", "D"),
    ("\\boxed{the answer} Answer: A", "A"),
    ("", None),
])
def test_extract_letter(generation, letter):
    assert extract_letter(generation) == letter


def test_grade_row_mcq_and_overrides():
    row = grade_row({"generation": "**Answer:** b", "expected_answer": "B"}, "multichoice")
    assert row["predicted_answer"] == "B" and row["symbolic_correct"] is True
    row = grade_row({"generation": "The final answer is (D)", "expected_answer": "D", "relaxed": False}, "mcq")
    assert row["predicted_answer"] is None and row["symbolic_correct"] is False


def _write(path: Path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_grade_file_math(tmp_path):
    rows = [
        {"generation": "so \\boxed{\\frac{1}{2}}", "expected_answer": "0.5"},
        {"generation": "no box", "expected_answer": "3"},
        {"generation": "\\boxed{x=3}", "expected_answer": "3"},
        {"generation": "", "expected_answer": "3", "_generation_finished_thinking": False},
        {"generation": "\\boxed{}", "expected_answer": "3"},
        {"generation": "\\boxed{\\sqrt{12}}", "expected_answer": "2\\sqrt{3}"},
        {"generation": "\\boxed{7}", "expected_answer": 7},
    ]
    path = tmp_path / "output.jsonl"
    _write(path, rows)
    stats = grade_file(path, "math", {"num_workers": 2})
    out = read_jsonl(path)
    assert [r["predicted_answer"] for r in out] == ["\\frac{1}{2}", None, "x=3", None, "", "\\sqrt{12}", "7"]
    assert [r["symbolic_correct"] for r in out] == [True, False, True, False, False, True, True]
    assert stats == {"entries": 7, "correct": 4, "no_answer": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["output.jsonl"]


def test_use_predicted_answer_key(tmp_path):
    row = grade_row({"generation": "\\boxed{1}", "predicted_answer": "2", "expected_answer": "2"}, "math",
                    {"use_predicted_answer_key": True})
    assert row["symbolic_correct"] is True


def test_grade_file_interrupted_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "output.jsonl"
    _write(path, [{"generation": "Answer: A", "expected_answer": "A"}] * 3)
    before = path.read_bytes()
    import skills.data.io as io

    calls = {"n": 0}
    real_dumps = io.json.dumps

    def flaky(obj, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_dumps(obj, **kw)

    monkeypatch.setattr(io.json, "dumps", flaky)
    with pytest.raises(KeyboardInterrupt):
        grade_file(path, "multichoice")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["output.jsonl"]


def test_regrade_files(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _write(a, [{"generation": "\\boxed{10\\%}", "expected_answer": "10"}])
    _write(b, [{"generation": "\\boxed{4}", "expected_answer": "5"}])
    stats = regrade_files([a, b], "math", {"num_workers": 1})
    assert stats[str(a)]["correct"] == 1 and stats[str(b)]["correct"] == 0
    with pytest.raises(UsageError, match="no such file"):
        regrade_files([a, tmp_path / "missing.jsonl"], "math")


def test_usage_errors(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"generation": "a"}\nnot json\n')
    with pytest.raises(UsageError, match="unknown eval_type"):
        grade_file(path, "code")
    with pytest.raises(UsageError, match="unknown eval_config key"):
        grade_file(path, "math", {"timout": 3})
    with pytest.raises(UsageError, match=r"x\.jsonl:2"):
        grade_file(path, "math")


def test_hard_timeout_kills_pathological_answer():
    """A sympy expansion far slower than the 2 s limit is given up on (not equal), the rest still graded."""
    slow = ("(x+y+z+1)^{80}", "(x+y+z)^{80}", {"timeout_seconds": 1000})
    with MathChecker(workers=1, hard_timeout=2) as checker:
        results = checker.check_many([slow, ("1/2", "0.5", {}), ("3", None, {})])
        assert results == [False, True, False]
        assert checker.timeouts == 1
        assert checker.check("2", "2.0") is True  # the replacement worker works


@pytest.mark.parametrize("row,problem", [({"expected_answer": "A"}, "no generation"),
                                         ({"generation": None, "expected_answer": "A"}, "no generation"),
                                         ({"generation": "Answer: A"}, "no expected_answer")])
def test_ungradable_file_is_refused_and_left_intact(tmp_path, row, problem):
    from skills.config.errors import UsageError
    from skills.evaluation import grade_file

    path = tmp_path / "out.jsonl"
    original = json.dumps({**row, "predicted_answer": "B", "symbolic_correct": False}) + "\n"
    path.write_text(original)
    with pytest.raises(UsageError, match=problem):
        grade_file(path, "multichoice")
    assert path.read_text() == original
