"""Verdict parsing of LLM judges (eval-metrics.md 5): strict ``Judgement:`` token, last one wins."""

import pytest

from skills.evaluation.judge import is_correct_judgement, parse_judgement


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Judgement: yes", True),
        ("Judgement: no", False),
        ("Judgement: Yes", True),  # value is lower-cased
        ("Judgement:YES, it matches", True),
        ("Judgement:   \n  yes", True),  # whitespace after the token is stripped
        ("extracted_final_answer: 42\nReasoning: same\nJudgement: yes\nConfidence: 90%", True),
        ("Judgement: **yes**", False),  # markup is not a verdict
        ("**Judgement:** yes", False),  # the token itself must be plain 'Judgement:'
        ("Judgement: ** yes", False),
        ("Judgment: yes", False),  # the other spelling does not count
        ("judgement: yes", False),  # case-sensitive token
        ("JUDGEMENT: yes", False),
        ("Judgement: yes\nJudgement: no", False),  # last occurrence wins
        ("Judgement: no\n...on reflection...\nJudgement: yes", True),
        ("The answer looks right, so", False),  # no verdict at all (truncated judge output)
        ("extracted_final_answer: 42\nReasoning: the response", False),  # truncated before verdict
        ("Judgement:", False),  # truncated right after the token
        ("", False),
        ("Judgement: nope", False),  # starts with 'no'
        ("Judgement: yesterday", True),  # starts with 'yes' (reference rule is a prefix test)
    ],
)
def test_is_correct_judgement(text, expected):
    assert is_correct_judgement(text) is expected


def test_non_string_is_incorrect():
    assert is_correct_judgement(None) is False
    assert parse_judgement(None) is None


def test_parse_distinguishes_no_from_unreadable():
    assert parse_judgement("Judgement: no") is False
    assert parse_judgement("Judgement: maybe") is None
    assert parse_judgement("Judgment: yes") is None
