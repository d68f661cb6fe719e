"""SuperGPQA preparation: ``SuperGPQA-all.jsonl`` (the dataset's only split), options re-shuffled.

As the reference: each option is stripped and double spaces become single ones; for each split a
``random.Random`` seeded with ``--random_seed`` (default 42, the reference's ``random.seed`` once per
split) shuffles every row's options in file order, and the expected letter is where the correct
option landed. ``test`` holds every question, ``science`` those of the discipline "Science" (its own
seeded pass, so its letters differ from the same questions' in ``test``). Duplicate options, or an
answer that is not the lettered option, stop preparation (the reference fails there too).
"""

from __future__ import annotations

import random
from typing import List, Optional

from skills.benchmarks.supergpqa import HF_FILE, HF_REPO, SPLITS
from skills.config.errors import UsageError
from skills.data.fields import mcq_fields, out_file, pick_splits
from skills.data.io import read_jsonl, write_jsonl
from skills.data.sources import hf_file, mirror_file

BENCH = "supergpqa"
FIELDS = ("uuid", "question", "options", "answer", "answer_letter", "discipline", "field", "subfield",
          "difficulty", "is_calculation")


def clean(text: Optional[str]) -> str:
    if text is None:
        return " "
    return text.strip().replace("  ", " ")


def format_row(row: dict, rng: random.Random, lineno: int) -> dict:
    letter = row["answer_letter"]
    if not (isinstance(letter, str) and len(letter) == 1 and "A" <= letter <= "J"):
        raise UsageError(f"supergpqa: row {lineno}: answer_letter {letter!r} is not A-J")
    choices = [clean(option) for option in row["options"]]
    if len(choices) != len(set(choices)):
        raise UsageError(f"supergpqa: row {lineno} ({row['uuid']}): options are not unique")
    correct = choices[ord(letter) - ord("A")]
    rng.shuffle(choices)
    index = choices.index(correct)
    if clean(row["answer"]) != choices[index]:
        raise UsageError(f"supergpqa: row {lineno} ({row['uuid']}): answer is not option {letter}")
    return {
        "expected_answer": chr(ord("A") + index),
        "uuid": row["uuid"],
        "subset_for_metrics": row["discipline"],
        "discipline": row["discipline"],
        "field": row["field"],
        "subfield": row["subfield"],
        "difficulty": row["difficulty"],
        "is_calculation": row["is_calculation"],
        **mcq_fields(row["question"], choices),
    }


def format_rows(rows: List[dict], split: str, seed: int = 42) -> List[dict]:
    rng = random.Random(seed)
    return [format_row(row, rng, i) for i, row in enumerate(rows, 1)
            if split == "test" or row["discipline"] == "Science"]


def prepare(ctx):
    extra = dict(ctx.extra)
    try:
        seed = int(extra.pop("random_seed", 42))
    except ValueError:
        raise UsageError("supergpqa: --random_seed must be an integer") from None
    if extra:
        raise UsageError(f"supergpqa: unknown prepare_data option --{next(iter(extra))}")
    splits = pick_splits(BENCH, ctx.split, "all", SPLITS)
    src = mirror_file(ctx.mirror, BENCH, HF_FILE) if ctx.mirror else hf_file(HF_REPO, HF_FILE, gated=False)
    rows = read_jsonl(src)
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not set(FIELDS) <= row.keys():
            raise UsageError(f"supergpqa: {src}:{i}: expected the fields {', '.join(FIELDS)}")
    written = []
    for split in splits:
        dest = out_file(ctx.data_dir, BENCH, split)
        write_jsonl(dest, format_rows(rows, split, seed))
        written.append(dest)
    return written
