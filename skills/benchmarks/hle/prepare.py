"""HLE preparation: the gated ``cais/hle`` test split, keeping only questions without an image.

The default (``--split all``) writes ``text.jsonl`` with every text-only row and one file per
category (``math.jsonl``, ``phy.jsonl``, ...); ``--split text`` or ``--split math`` writes one.
"""

from __future__ import annotations

from skills.benchmarks.hle import CATEGORY_SPLITS, HF_FILE, HF_REPO
from skills.data.fields import out_file, pick_splits, reject_extra
from skills.data.io import write_jsonl
from skills.data.sources import hf_file, mirror_file, read_parquet_table

BENCH = "hle"
COLUMNS = ("id", "question", "image", "answer", "answer_type", "rationale", "raw_subject", "category",
           "author_name", "canary")


def format_row(row: dict) -> dict:
    return {
        "id": row["id"],
        "problem": row["question"],
        "expected_answer": row["answer"],
        "answer_type": row["answer_type"],
        "reference_solution": row["rationale"],
        "raw_subject": row["raw_subject"],
        "subset_for_metrics": row["category"],
        "author_name": row["author_name"],
        "canary": row["canary"],
    }


def text_only(table) -> list:
    """Rows whose ``image`` is empty or null, filtered in Arrow so the image bytes are never copied."""
    import pyarrow as pa
    import pyarrow.compute as pc

    image = table["image"]
    if pa.types.is_string(image.type) or pa.types.is_large_string(image.type):
        has_image = pc.fill_null(pc.greater(pc.utf8_length(image), 0), False)
    else:  # an unexpected image type (e.g. a struct): fall back to Python truthiness
        has_image = pa.array([bool(v) for v in image.to_pylist()])
    keep = table.drop_columns(["image"]).filter(pc.invert(has_image))
    return [format_row(r) for r in keep.to_pylist()]


def prepare(ctx):
    reject_extra(BENCH, ctx.extra)
    splits = pick_splits(BENCH, ctx.split, "all", ["text", *CATEGORY_SPLITS])
    src = mirror_file(ctx.mirror, BENCH, HF_FILE) if ctx.mirror else hf_file(HF_REPO, HF_FILE, gated=True)
    rows = text_only(read_parquet_table(src, COLUMNS))
    written = []
    for split in splits:
        keep = rows if split == "text" else [r for r in rows if r["subset_for_metrics"] == CATEGORY_SPLITS[split]]
        dest = out_file(ctx.data_dir, BENCH, split)
        write_jsonl(dest, keep)
        written.append(dest)
    return written
