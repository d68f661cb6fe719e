"""MMLU preparation: the original release's ``data.tar``, one line per question of ``data/<split>/*.csv``.

As the reference: CSV files without a header (question, A, B, C, D, answer letter) read in the
order of the tar's members, rows with another number of cells skipped with a warning, the subject
from the file name (``<subject>_<split>.csv``), its category as ``subset_for_metrics``. The tar is
downloaded to a temporary file and removed afterwards (166 MB, mostly ``auxiliary_train``), or read
from ``<mirror>/mmlu/data.tar``.
"""

from __future__ import annotations

import csv
import io
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

from skills.benchmarks.mmlu import SPLITS, URL
from skills.benchmarks.mmlu.subjects import CATEGORY
from skills.config.errors import UsageError
from skills.data.fields import mcq_fields, out_file, pick_splits, reject_extra
from skills.data.io import download, write_jsonl
from skills.data.sources import mirror_file

BENCH = "mmlu"
COLUMNS = ("question", "A", "B", "C", "D", "expected_answer")


def read_split(tar_path: Path, split: str) -> Iterator[Tuple[str, List[Dict[str, str]]]]:
    """(subject, rows) per ``data/<split>/*.csv`` member, in member order."""
    try:
        with tarfile.open(tar_path, "r") as tar:
            for member in tar.getmembers():
                if not (member.name.startswith(f"data/{split}/") and member.name.endswith(".csv")):
                    continue
                fh = tar.extractfile(member)
                if fh is None:
                    continue
                name = member.name.rsplit("/", 1)[-1]
                rows = []
                for cells in csv.reader(io.TextIOWrapper(fh, encoding="utf-8")):
                    if len(cells) == len(COLUMNS):
                        rows.append(dict(zip(COLUMNS, cells)))
                    else:
                        print(f"mmlu: skipping a row of {name} with {len(cells)} cells", file=sys.stderr)
                yield name.rsplit("_", 1)[0], rows
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"mmlu: cannot read {tar_path}: {exc}") from None


def format_rows(tar_path: Path, split: str) -> List[dict]:
    out = []
    for subject, rows in read_split(tar_path, split):
        if subject not in CATEGORY:
            raise UsageError(f"mmlu: {tar_path} has an unknown subject {subject!r} in data/{split}/")
        for row in rows:
            question = row.pop("question")
            row["subtopic"] = subject
            row.update(mcq_fields(question, [row[letter] for letter in "ABCD"]))
            row["subset_for_metrics"] = CATEGORY[subject]
            row["examples_type"] = f"mmlu_few_shot_{subject}"
            out.append(row)
    return out


def prepare(ctx):
    reject_extra(BENCH, ctx.extra)
    splits = pick_splits(BENCH, ctx.split, "test", SPLITS)
    written = []
    with tempfile.TemporaryDirectory(prefix="mmlu-") as tmp:
        src = mirror_file(ctx.mirror, BENCH, "data.tar") if ctx.mirror else download(URL, Path(tmp) / "data.tar")
        for split in splits:
            rows = format_rows(src, split)
            if not rows:
                raise UsageError(f"mmlu: {src} has no data/{split}/*.csv rows")
            dest = out_file(ctx.data_dir, BENCH, split)
            write_jsonl(dest, rows)
            written.append(dest)
    return written
