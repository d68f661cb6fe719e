"""``ns evaluate``: re-grade generation files in place with any registered grader."""

from __future__ import annotations

from typing import Optional

import typer

from skills.cli.common import require, split_extra
from skills.cli.options import O
from skills.config.errors import UsageError


def evaluate(
    ctx: typer.Context,
    eval_type: Optional[str] = O("eval_type", "Grader name, e.g. math | multichoice (required)."),
    generation_key: Optional[str] = O("generation_key", "Field holding the generation (default: the grader's "
                                      "own, usually generation)."),
) -> int:
    """Re-grade generation files in place: ns evaluate --eval_type=math FILE... [++eval_config.key=v]."""
    overrides, files = split_extra(ctx, positional=True)
    require(eval_type=eval_type)
    eval_config = {}
    for tok in overrides:
        key, _, value = tok.lstrip("+").partition("=")
        if not key.startswith("eval_config."):
            raise UsageError(f"{tok}: ns evaluate only takes ++eval_config.<key>=<value>")
        from skills.config.overrides import apply_overrides, validate_overrides
        from skills.inference.config import GenerateConfig

        eval_config.update(apply_overrides(validate_overrides([tok], GenerateConfig), GenerateConfig).eval_config)
    from skills.evaluation import regrade_files

    for path, stats in regrade_files(files, eval_type, eval_config, generation_key=generation_key).items():
        print(f"{path}: " + ", ".join(f"{k}={v}" for k, v in stats.items()))
    return 0



