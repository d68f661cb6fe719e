"""GPQA preparation.

The option order must match the reference's so that expected letters (and so old results) agree:
Python's ``random`` is seeded once with ``--random_seed`` (default 42) before each split, then each
row, in file order, shuffles ``[incorrect 1, incorrect 2, incorrect 3, correct]`` in place with
``random.shuffle``. The expected letter is the first position holding the cleaned correct answer.
A different row order or seed gives different letters.
"""

from __future__ import annotations

import random
import re
from typing import List, Optional

from skills.benchmarks.gpqa import ALL_ORDER, HF_REPO, SPLITS
from skills.config.errors import UsageError
from skills.data.fields import mcq_fields, out_file, pick_splits
from skills.data.io import write_jsonl
from skills.data.sources import hf_file, mirror_file, read_csv

BENCH = "gpqa"
COLUMNS = ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3",
           "Explanation", "Subdomain", "Writer's Difficulty Estimate")


def clean(text: Optional[str]) -> str:
    """The reference's answer/explanation clean-up: None -> " ", strip, " [title]" -> ". ", "  " -> " "."""
    if text is None:
        return " "
    return text.strip().replace(" [title]", ". ").replace("  ", " ")


def format_row(row: dict, rng: random.Random) -> dict:
    choices = [clean(row["Incorrect Answer 1"]), clean(row["Incorrect Answer 2"]),
               clean(row["Incorrect Answer 3"]), clean(row["Correct Answer"])]
    rng.shuffle(choices)
    letter = chr(ord("A") + choices.index(clean(row["Correct Answer"])))
    difficulty = row["Writer's Difficulty Estimate"]
    return {
        "expected_answer": letter,
        "explanation": clean(row["Explanation"]),
        "subset_for_metrics": row["Subdomain"],
        "difficulty": re.split(r"\s*\(", difficulty)[0] if difficulty is not None else None,
        **mcq_fields(row["Question"] or "", choices),
    }


def format_rows(rows: List[dict], seed: int = 42) -> List[dict]:
    """Seeding a private Random with the same seed gives exactly the sequence of ``random.seed(seed)``."""
    rng = random.Random(seed)
    return [format_row(row, rng) for row in rows]


def prepare(ctx):
    extra = dict(ctx.extra)
    try:
        seed = int(extra.pop("random_seed", 42))
    except ValueError:
        raise UsageError("gpqa: --random_seed must be an integer") from None
    if extra:
        raise UsageError(f"gpqa: unknown prepare_data option --{next(iter(extra))}")
    splits = pick_splits(BENCH, ctx.split, "diamond", SPLITS)
    if len(splits) > 1:
        splits = list(ALL_ORDER)
    written = []
    for split in splits:
        name = f"gpqa_{split}.csv"
        src = mirror_file(ctx.mirror, BENCH, name) if ctx.mirror else hf_file(HF_REPO, name, gated=True)
        rows = read_csv(src, COLUMNS)
        dest = out_file(ctx.data_dir, BENCH, split)
        write_jsonl(dest, format_rows(rows, seed))
        written.append(dest)
    return written
