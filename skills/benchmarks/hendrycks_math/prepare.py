"""MATH data: Qwen2.5-Math's ``math/{test,train}.jsonl``, renamed as the reference does; both splits by
default (``--split test|train`` writes one)."""

from skills.data.qwen_math import prepare_qwen


def prepare(ctx):
    return prepare_qwen(ctx, "hendrycks_math", dataset="math", splits=("test", "train"), default="all")
