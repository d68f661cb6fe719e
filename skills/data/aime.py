"""AIME24/25 data: the reference's shipped ``test.txt`` (JSON lines), copied unchanged."""

from __future__ import annotations

import tempfile
from pathlib import Path

from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra
from skills.data.io import atomic_open, download, read_jsonl
from skills.data.sources import mirror_file

REQUIRED = ("id", "problem", "expected_answer")
# The files as the reference shipped them at the snapshot our numbers are matched against.
NEMO_SKILLS_COMMIT = "0b012df8a09cd4730d31b16e90a0d8f13d145fb8"


def source_url(bench: str) -> str:
    return (f"https://raw.githubusercontent.com/NVIDIA/NeMo-Skills/{NEMO_SKILLS_COMMIT}"
            f"/nemo_skills/dataset/{bench}/test.txt")


def prepare_aime(ctx, bench: str):
    url = source_url(bench)
    pick_splits(bench, ctx.split, "test", ["test"])
    reject_extra(bench, ctx.extra)
    with tempfile.TemporaryDirectory() as tmp:
        src = mirror_file(ctx.mirror, bench, "test.txt") if ctx.mirror else download(url, Path(tmp) / "test.txt")
        for i, row in enumerate(read_jsonl(src), 1):
            if not isinstance(row, dict) or any(k not in row for k in REQUIRED):
                raise UsageError(f"{src}: entry {i} lacks one of {', '.join(REQUIRED)}")
        data = src.read_bytes()
    dest = out_file(ctx.data_dir, bench, "test")
    with atomic_open(dest, "wb") as fh:
        fh.write(data)
    return [dest]
