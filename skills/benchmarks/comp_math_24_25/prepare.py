"""comp-math-24-25 data: the reference's shipped ``test.txt`` (JSON lines), checked and copied byte for byte."""

from skills.data.nemo_skills import prepare_shipped_jsonl


def prepare(ctx):
    return prepare_shipped_jsonl(ctx, "comp-math-24-25", ("id", "problem", "expected_answer"))
