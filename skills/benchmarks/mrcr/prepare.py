"""MRCR preparation: HF ``openai/mrcr`` (split ``train``: the parquet files ``<n>needle/*.parquet``,
read in name order), every row kept by default, written as the reference writes it: the original
columns without ``prompt`` and ``answer``, then ``messages`` (the parsed ``prompt``),
``expected_answer`` and ``n_tokens`` (the sum of the messages' ``o200k_base`` token counts).

Options as the reference: ``--setup NAME`` (output ``NAME.jsonl``, default ``all``),
``--needles_subset 2,4`` (default all), ``--max_context_window N`` (longer chats skipped). The
mirror is ``<mirror>/mrcr/<n>needle/<file>.parquet``. The full dataset is ~1.4 GB: files are read
one row group at a time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable, Iterator, List, Optional

from skills.benchmarks.mrcr import HF_REPO, NEEDLES, TOKENIZER
from skills.config.errors import UsageError
from skills.data.fields import out_file, reject_extra, value_list
from skills.data.io import write_jsonl
from skills.data.sources import hf_file
from skills.data.tokens import token_counter

BENCH = "mrcr"


def source_files(mirror: Optional[Path], needles: List[int]) -> List[Path]:
    if mirror is not None:
        files = sorted(p for n in needles for p in (mirror / BENCH / f"{n}needle").glob("*.parquet"))
        if not files:
            raise UsageError(f"missing mirror files {mirror / BENCH}/<n>needle/*.parquet")
        return files
    try:
        from huggingface_hub import list_repo_files
    except ImportError:
        raise UsageError("downloading from Hugging Face needs the hf extra: pip install 'skills[hf]'") from None
    try:
        names = list_repo_files(HF_REPO, repo_type="dataset")
    except Exception as exc:
        raise UsageError(f"could not list HF dataset {HF_REPO}: {exc}".splitlines()[0]) from None
    wanted = sorted(n for n in names if n.endswith(".parquet") and n.split("/")[0] in {f"{k}needle" for k in needles})
    return [hf_file(HF_REPO, name, gated=False) for name in wanted]


def rows(files: List[Path], needles: List[int], count: Callable[[str], int],
         max_context_window: Optional[int]) -> Iterator[dict]:
    import pyarrow.parquet as pq

    for path in files:
        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:
            raise UsageError(f"corrupt parquet file {path}: {exc}".splitlines()[0]) from None
        for batch in parquet.iter_batches(batch_size=64):
            for entry in batch.to_pylist():
                if entry["n_needles"] not in needles:
                    continue
                messages = json.loads(entry.pop("prompt"))
                n_tokens = sum(count(m["content"]) for m in messages)
                if max_context_window is not None and n_tokens > max_context_window:
                    print(f"mrcr: skipping a chat of {n_tokens} tokens", file=sys.stderr)
                    continue
                entry["messages"] = messages
                entry["expected_answer"] = entry.pop("answer")
                entry["n_tokens"] = n_tokens
                yield entry


def prepare(ctx):
    extra = dict(ctx.extra)
    setup = extra.pop("setup", None) or ctx.split or "all"
    window = extra.pop("max_context_window", None)
    subset = extra.pop("needles_subset", None)
    reject_extra(BENCH, extra)
    try:
        needles = [int(v) for v in value_list(subset, "needles_subset")] if subset else list(NEEDLES)
        max_window = int(window) if window is not None else None
    except ValueError:
        raise UsageError("mrcr: --needles_subset and --max_context_window take integers") from None
    if any(n not in NEEDLES for n in needles):
        raise UsageError(f"mrcr: --needles_subset values must be among {', '.join(map(str, NEEDLES))}")
    if not setup.replace("_", "").replace("-", "").isalnum():
        raise UsageError(f"mrcr: --setup must be a plain name (letters, digits, _ or -), got {setup!r}")
    count = token_counter(TOKENIZER, BENCH)
    dest = out_file(ctx.data_dir, BENCH, setup)
    write_jsonl(dest, rows(source_files(ctx.mirror, needles), needles, count, max_window))
    return [dest]
