"""Reasoning split (``++parse_reasoning=True``): answers only, never half-finished thoughts."""

from skills.inference.reasoning import apply_reasoning


def _row(text, **extra):
    row = {"generation": text, **extra}
    apply_reasoning(row, "generation", "</think>")
    return row


def test_answer_after_the_last_end_string():
    row = _row("<think>a</think> mid </think> The answer is \\boxed{4}.")
    assert row["generation"] == "The answer is \\boxed{4}."
    assert row["_generation_finished_thinking"] is True and row["_full_generation"].startswith("<think>a")


def test_cut_off_inside_thinking_is_no_answer():
    row = _row("<think>still going", finish_reason="length")
    assert row["generation"] == "" and row["_generation_finished_thinking"] is False


def test_server_side_reasoning_parser_keeps_the_answer():
    """The server moved thoughts to reasoning_content: content has no </think> and IS the answer
    (the reference blanks it here, NeMo-Skills#1390, scoring every answer as missing)."""
    row = _row("The answer is \\boxed{4}.", reasoning_content="thoughts", finish_reason="stop")
    assert row["generation"] == "The answer is \\boxed{4}." and row["_generation_finished_thinking"] is True


def test_server_side_reasoning_cut_off_by_length():
    row = _row("", reasoning_content="thoughts that never end", finish_reason="length")
    assert row["generation"] == "" and row["_generation_finished_thinking"] is False
