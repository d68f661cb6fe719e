"""SimpleQA preparation: one line per question, ``id``, ``metadata``, ``question``, ``expected_answer``.

The reference reads both CSV files with pandas (``verified`` through HF ``datasets``, whose CSV
loader is pandas), so we do too: the same type inference (``original_index`` an integer, the two
flags booleans) and the same empty-cell rules.

- ``test`` (``simple_qa_test_set.csv``): ``id`` = ``simpleqa_<row number>``; ``metadata`` is the
  file's Python-literal dict (topic, answer_type, urls), read with ``ast.literal_eval`` (the
  reference ``eval``s it; a literal gives the same value and nothing else is run).
- ``verified`` (``simpleqa_verified.csv``): ``id`` = ``original_index``; ``metadata`` = the whole
  row (every column, file order), so ``urls`` stays the file's string.
"""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path
from typing import Any, List

from skills.benchmarks.simpleqa import SPLITS, TEST_FILE, TEST_URL, VERIFIED_FILE, VERIFIED_REPO
from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra
from skills.data.io import download, write_jsonl
from skills.data.sources import hf_file, mirror_file

BENCH = "simpleqa"
TEST_COLUMNS = ("metadata", "problem", "answer")
VERIFIED_COLUMNS = ("original_index", "problem", "answer")


def read_frame(path: Path, columns) -> Any:
    try:
        import pandas
    except ImportError:
        raise UsageError("simpleqa: reading its CSV files needs pandas (pip install 'skills[hf]')") from None
    try:
        frame = pandas.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"simpleqa: cannot read {path}: {exc}".splitlines()[0]) from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UsageError(f"simpleqa: {path} lacks the columns {', '.join(missing)}")
    return frame


def _native(value: Any) -> Any:
    """numpy scalars as plain Python values (what the reference's ``json.dump`` receives)."""
    return value.item() if hasattr(value, "item") else value


def test_rows(path: Path) -> List[dict]:
    rows = []
    for idx, row in read_frame(path, TEST_COLUMNS).iterrows():
        try:
            metadata = ast.literal_eval(row["metadata"])
        except (ValueError, SyntaxError, TypeError):
            raise UsageError(f"simpleqa: {path} row {idx + 1}: metadata is not a Python literal") from None
        rows.append({"id": f"simpleqa_{idx}", "metadata": metadata, "question": _native(row["problem"]),
                     "expected_answer": _native(row["answer"])})
    return rows


def verified_rows(path: Path) -> List[dict]:
    rows = []
    for _, row in read_frame(path, VERIFIED_COLUMNS).iterrows():
        metadata = {key: _native(value) for key, value in row.to_dict().items()}
        rows.append({"id": metadata["original_index"], "metadata": metadata, "question": metadata["problem"],
                     "expected_answer": metadata["answer"]})
    return rows


def prepare(ctx):
    reject_extra(BENCH, ctx.extra)
    written = []
    for split in pick_splits(BENCH, ctx.split, "verified", SPLITS):
        with tempfile.TemporaryDirectory(prefix="simpleqa-") as tmp:
            if split == "verified":
                src = mirror_file(ctx.mirror, BENCH, VERIFIED_FILE) if ctx.mirror \
                    else hf_file(VERIFIED_REPO, VERIFIED_FILE, gated=False)
                rows = verified_rows(src)
            else:
                src = mirror_file(ctx.mirror, BENCH, TEST_FILE) if ctx.mirror else download(TEST_URL, Path(tmp) / TEST_FILE)
                rows = test_rows(src)
        dest = out_file(ctx.data_dir, BENCH, split)
        write_jsonl(dest, rows)
        written.append(dest)
    return written
