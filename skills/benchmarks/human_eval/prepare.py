"""``ns prepare_data human-eval``: see ``skills.benchmarks.evalplus.prepare``."""

from skills.benchmarks.evalplus.prepare import prepare_dataset


def prepare(ctx):
    return prepare_dataset(ctx, "humaneval")
