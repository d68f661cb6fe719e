"""BeyondAIME data: the ``test`` split of ByteDance-Seed/BeyondAIME, ``answer`` renamed to
``expected_answer`` (moved last) as the reference does. A mirror holds the rows as ``beyond-aime/test.jsonl``."""

from skills.data.hf_math import prepare_hf_answers


def prepare(ctx):
    return prepare_hf_answers(ctx, "beyond-aime", "ByteDance-Seed/BeyondAIME", "test")
