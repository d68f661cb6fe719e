"""Omni-MATH preparation: upstream's ``Omni-Math.jsonl`` with ``answer`` and ``solution`` renamed to
``expected_answer`` and ``reference_solution`` (moved last, in that order), every other field as is,
one ``test.jsonl``, as the reference's ``prepare.py`` writes it.

Offline: ``$SKILLS_DATA_MIRROR/omni-math/Omni-Math.jsonl`` (upstream's file, unchanged).
"""

import tempfile
from pathlib import Path

from skills.benchmarks.omni_math import UPSTREAM_FILE, URL
from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra
from skills.data.io import download, read_jsonl, write_jsonl
from skills.data.sources import mirror_file

BENCH = "omni-math"


def format_row(row: dict, where: str) -> dict:
    if not isinstance(row, dict) or not {"answer", "solution"} <= row.keys():
        raise UsageError(f"{where}: expected an Omni-MATH row with keys answer and solution")
    row = dict(row)
    row["expected_answer"] = row.pop("answer")
    row["reference_solution"] = row.pop("solution")
    return row


def prepare(ctx):
    pick_splits(BENCH, ctx.split, "test", ["test"])
    reject_extra(BENCH, ctx.extra)
    with tempfile.TemporaryDirectory() as tmp:
        src = mirror_file(ctx.mirror, BENCH, UPSTREAM_FILE) if ctx.mirror else download(URL, Path(tmp) / UPSTREAM_FILE)
        rows = [format_row(row, f"{src}:{i}") for i, row in enumerate(read_jsonl(src), 1)]
    dest = out_file(ctx.data_dir, BENCH, "test")
    write_jsonl(dest, rows)
    return [dest]
