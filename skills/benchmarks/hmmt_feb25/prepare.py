"""HMMT February 2025 data: the ``train`` split of MathArena/hmmt_feb_2025 as ``test.jsonl``, ``answer``
renamed to ``expected_answer`` (moved last) as the reference does. A mirror holds the rows as
``hmmt_feb25/train.jsonl`` (``skills.data.sources.hf_split_rows``)."""

from skills.data.hf_math import prepare_hf_answers


def prepare(ctx):
    return prepare_hf_answers(ctx, "hmmt_feb25", "MathArena/hmmt_feb_2025", "train")
