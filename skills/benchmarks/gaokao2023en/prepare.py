"""gaokao2023en data: Qwen2.5-Math's ``gaokao2023en/test.jsonl``, renamed as the reference does
(``skills.data.qwen_math``)."""

from skills.data.qwen_math import prepare_qwen


def prepare(ctx):
    return prepare_qwen(ctx, "gaokao2023en")
