"""Algebra222 data: ``algebra222.csv`` as the reference writes it: ``problem`` (the question) and
``expected_answer`` (``final_answer`` as a number, an int when whole)."""

import csv
import tempfile
from pathlib import Path

from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra, whole
from skills.data.io import download, write_jsonl
from skills.data.sources import mirror_file

URL = "https://raw.githubusercontent.com/joyheyueya/declarative-math-word-problem/main/algebra222.csv"


def prepare(ctx):
    pick_splits("algebra222", ctx.split, "test", ["test"])
    reject_extra("algebra222", ctx.extra)
    with tempfile.TemporaryDirectory() as tmp:
        src = mirror_file(ctx.mirror, "algebra222", "algebra222.csv") if ctx.mirror \
            else download(URL, Path(tmp) / "algebra222.csv")
        rows = []
        try:
            with open(src, newline="", encoding="utf-8") as fh:
                reader = csv.reader(fh)
                header = next(reader, [])
                for entry in reader:
                    entry = dict(zip(header, entry))
                    rows.append({"problem": entry["question"], "expected_answer": whole(float(entry["final_answer"]))})
        except (csv.Error, UnicodeDecodeError, KeyError, ValueError) as exc:
            raise UsageError(f"{src}: not the algebra222 CSV (question, final_answer): {exc}") from None
    dest = out_file(ctx.data_dir, "algebra222", "test")
    write_jsonl(dest, rows)
    return [dest]
