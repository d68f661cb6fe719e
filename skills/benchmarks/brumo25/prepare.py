"""BRUMO 2025 data: the ``train`` split of MathArena/brumo_2025 as ``test.jsonl``, ``answer`` renamed to
``expected_answer`` (moved last) as the reference does. A mirror holds the rows as ``brumo25/train.jsonl``."""

from skills.data.hf_math import prepare_hf_answers


def prepare(ctx):
    return prepare_hf_answers(ctx, "brumo25", "MathArena/brumo_2025", "train")
