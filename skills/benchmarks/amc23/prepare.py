"""amc23 data: Qwen2.5-Math's ``amc23/test.jsonl``, renamed as the reference does
(``skills.data.qwen_math``)."""

from skills.data.qwen_math import prepare_qwen


def prepare(ctx):
    return prepare_qwen(ctx, "amc23")
