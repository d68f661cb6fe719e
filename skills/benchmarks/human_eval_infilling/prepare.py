"""``ns prepare_data human-eval-infilling``: openai/human-eval-infilling's files -> one file per split.

The reference reads HF ``loubnabnl/humaneval_infilling`` (a loader over these same upstream files),
renames ``prompt`` to ``prefix``, adds ``language`` ``python``, ``split`` and ``comment_delimiter``
``#`` and drops ``entry_point`` and ``test`` (``datasets.map`` order: the kept upstream fields, then
the new ones). Beside each split goes the upstream file itself, which the grader reads (the reference's
grader re-reads it from its cache). ``--split`` picks splits (default: the reference's three; also
``random_span_light``). Files come from the mirror (``<mirror>/human-eval-infilling/<file>``) or
openai's repository.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from typing import List

from skills.benchmarks.human_eval_infilling import BENCH, DATA_URL, FILES, SPLITS
from skills.config.errors import UsageError
from skills.data.io import atomic_open, download
from skills.data.sources import mirror_file

FIELDS = ("task_id", "entry_point", "prompt", "suffix", "canonical_solution", "test")


def upstream_bytes(ctx, split: str) -> bytes:
    name = FILES[split]
    if ctx.mirror:
        return mirror_file(Path(ctx.mirror), BENCH, name).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        path = download(DATA_URL.format(name=name), Path(tmp) / f"{name}.gz")
        return gzip.decompress(path.read_bytes())


def format_row(task: dict, split: str) -> dict:
    missing = [f for f in FIELDS if not isinstance(task.get(f), str)]
    if missing:
        raise UsageError(f"{BENCH}: {task.get('task_id', '?')}: field {missing[0]} missing or not a string")
    return {"task_id": task["task_id"], "suffix": task["suffix"], "canonical_solution": task["canonical_solution"],
            "prefix": task["prompt"], "language": "python", "split": split, "comment_delimiter": "#"}


def prepare(ctx) -> List[Path]:
    if ctx.extra:
        raise UsageError(f"{BENCH}: unknown prepare_data option --{next(iter(ctx.extra))}")
    splits = SPLITS if ctx.split in (None, "all") else tuple(dict.fromkeys(s.strip() for s in ctx.split.split(",")))
    bad = [s for s in splits if s not in FILES]
    if bad:
        raise UsageError(f"{BENCH}: unknown split {bad[0]} (known: {', '.join(FILES)})")
    written = []
    folder = Path(ctx.data_dir) / BENCH
    for split in splits:
        raw = upstream_bytes(ctx, split)
        with atomic_open(folder / FILES[split], "wb") as fh:
            fh.write(raw)
        out = folder / f"{split}.jsonl"
        with atomic_open(out) as fh:
            for line in raw.decode("utf-8").splitlines():
                if line.strip():
                    fh.write(json.dumps(format_row(json.loads(line), split)) + "\n")
        written += [out, folder / FILES[split]]
    return written
