"""OlympiadBench data: Qwen2.5-Math's ``olympiadbench/test.jsonl``, renamed as the reference does; the
answer is the first of ``final_answer`` without its ``$`` signs."""

from skills.data.qwen_math import prepare_qwen


def _answer(row: dict) -> dict:
    row = dict(row)
    row["expected_answer"] = row.pop("final_answer")[0].strip("$")
    return row


def prepare(ctx):
    return prepare_qwen(ctx, "olympiadbench", finish=_answer)
