"""Reasoning split (``++parse_reasoning=True``): answers only, never half-finished thoughts."""

import pytest

from skills.inference.reasoning import apply_reasoning
from skills.inference.task import cut_at_stop


def _row(text, trust_server=False, **extra):
    row = {"generation": text, **extra}
    apply_reasoning(row, "generation", "</think>", trust_server)
    return row


def test_answer_after_the_last_end_string():
    row = _row("<think>a</think> mid </think> The answer is \\boxed{4}.")
    assert row["generation"] == "The answer is \\boxed{4}."
    assert row["_generation_finished_thinking"] is True and row["_full_generation"].startswith("<think>a")


def test_cut_off_inside_thinking_is_no_answer():
    row = _row("<think>still going", finish_reason="length")
    assert row["generation"] == "" and row["_generation_finished_thinking"] is False


def test_server_side_reasoning_parser_is_blanked_as_the_reference():
    """The server moved thoughts to reasoning_content: content has no </think>; the reference blanks
    it (NeMo-Skills#1390), so by default so do we."""
    row = _row("The answer is \\boxed{4}.", reasoning_content="thoughts", finish_reason="stop")
    assert row["generation"] == "" and row["_generation_finished_thinking"] is False
    assert row["_full_generation"] == "The answer is \\boxed{4}."


def test_trust_server_reasoning_keeps_the_answer():
    """++trust_server_reasoning=True: that content IS the answer."""
    row = _row("The answer is \\boxed{4}.", True, reasoning_content="thoughts", finish_reason="stop")
    assert row["generation"] == "The answer is \\boxed{4}." and row["_generation_finished_thinking"] is True
    row = _row("<think>x</think> 5", True, reasoning_content="thoughts")  # an end string still splits
    assert row["generation"] == "5"


def test_server_side_reasoning_cut_off_by_length():
    row = _row("", True, reasoning_content="thoughts that never end", finish_reason="length")
    assert row["generation"] == "" and row["_generation_finished_thinking"] is False


@pytest.mark.parametrize("text, stops, keep, expected", [
    ("x = 1\n\nmore", ["\n\n"], False, "x = 1"),
    ("x = 1\n\nmore", ["\n\n"], True, "x = 1\n\n"),
    ("a STOP b END c", ["END", "STOP"], False, "a "),  # the earliest phrase wins, whatever the order
    ("a [/INST] b", ["[/INST]"], False, "a "),  # plain text, not a regular expression
    ("no stop here", ["</s>"], False, "no stop here"),
    ("abc", [], False, "abc"),
])
def test_generation_ends_before_the_first_stop_phrase(text, stops, keep, expected):
    assert cut_at_stop(text, stops, keep) == expected
