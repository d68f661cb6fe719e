"""Math sets published as Hugging Face datasets whose rows the reference writes as they are, with
``answer`` renamed to ``expected_answer`` (moved last): MathArena's competitions, BeyondAIME."""

from __future__ import annotations

from pathlib import Path
from typing import List

from skills.config.errors import UsageError
from skills.data.fields import moved_last, out_file, pick_splits, reject_extra
from skills.data.io import write_jsonl
from skills.data.sources import hf_split_rows


def prepare_hf_answers(ctx, bench: str, repo: str, hf_split: str) -> List[Path]:
    """``<data_dir>/<bench>/test.jsonl`` from split ``hf_split`` of ``repo``."""
    pick_splits(bench, ctx.split, "test", ["test"])
    reject_extra(bench, ctx.extra)
    rows = []
    for i, row in enumerate(hf_split_rows(ctx.mirror, bench, repo, hf_split), 1):
        if "answer" not in row:
            raise UsageError(f"{bench}: row {i} of {repo} split {hf_split} has no 'answer'")
        rows.append(moved_last(row, "answer", "expected_answer"))
    dest = out_file(ctx.data_dir, bench, "test")
    write_jsonl(dest, rows)
    return [dest]
