"""MATH-500 preparation: prm800k's test split, fields renamed as the reference does."""

import tempfile
from pathlib import Path

from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra
from skills.data.io import download, read_jsonl, write_jsonl
from skills.data.sources import mirror_file

PRM800K_URL = "https://raw.githubusercontent.com/openai/prm800k/main/prm800k/math_splits/test.jsonl"
# The raw URL serves a Git LFS pointer for this file; the media URL serves its content.
PRM800K_LFS_URL = "https://media.githubusercontent.com/media/openai/prm800k/main/prm800k/math_splits/test.jsonl"


def _fetch(ctx, tmp):
    if ctx.mirror:
        return mirror_file(ctx.mirror, "math-500", "test.jsonl")
    path = download(PRM800K_URL, tmp / "test.jsonl")
    if path.read_bytes().startswith(b"version https://git-lfs"):
        path = download(PRM800K_LFS_URL, tmp / "test.jsonl")
    return path


def prepare(ctx):
    """prm800k's test split with ``answer``/``solution`` renamed (moved last) as the reference does."""
    pick_splits("math-500", ctx.split, "test", ["test"])
    reject_extra("math-500", ctx.extra)
    with tempfile.TemporaryDirectory() as tmp:
        src = _fetch(ctx, Path(tmp))
        rows = []
        for i, row in enumerate(read_jsonl(src), 1):
            if not isinstance(row, dict) or not {"problem", "answer", "solution"} <= row.keys():
                raise UsageError(f"{src}:{i}: expected keys problem, answer, solution")
            row = dict(row)
            row["expected_answer"] = row.pop("answer")
            row["reference_solution"] = row.pop("solution")
            rows.append(row)
    dest = out_file(ctx.data_dir, "math-500", "test")
    write_jsonl(dest, rows)
    return [dest]
