"""Minerva Math data: Qwen2.5-Math's ``minerva_math/test.jsonl``, which has no answer field: the
expected answer is the last ``\\boxed{}`` of the reference solution, taken with the math grader's own
extraction, as the reference does."""

from skills.data.qwen_math import prepare_qwen
from skills.evaluation.math_grader import extract_answer


def _answer(row: dict) -> dict:
    return {**row, "expected_answer": extract_answer(row["solution"])}


def prepare(ctx):
    return prepare_qwen(ctx, "minerva_math", finish=_answer)
