"""Math test sets as QwenLM/Qwen2.5-Math's evaluation folder ships them (``data/<dataset>/<split>.jsonl``),
renamed the way the reference's ``save_data_from_qwen`` does: ``answer`` becomes ``expected_answer``
and ``question`` becomes ``problem`` when there is no ``problem``, each moved to the end of the row.
Benchmarks with one more rule (OlympiadBench, Minerva) pass it as ``finish``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from skills.config.errors import UsageError
from skills.data.fields import moved_last, out_file, pick_splits, reject_extra
from skills.data.io import download, iter_jsonl, write_jsonl
from skills.data.sources import mirror_file

# No revision pinned, as in the reference (the files were last changed in 2024).
QWEN_URL = "https://raw.githubusercontent.com/QwenLM/Qwen2.5-Math/refs/heads/main/evaluation/data/{dataset}/{split}.jsonl"


def qwen_row(row: dict, where: str) -> dict:
    if not isinstance(row, dict):
        raise UsageError(f"{where}: expected a JSON object")
    if "answer" in row:
        row = moved_last(row, "answer", "expected_answer")
    if "problem" not in row:
        if "question" not in row:
            raise UsageError(f"{where}: the row has neither 'problem' nor 'question'")
        row = moved_last(row, "question", "problem")
    return row


def prepare_qwen(ctx, bench: str, dataset: Optional[str] = None, splits: Sequence[str] = ("test",),
                 default: str = "test", finish: Optional[Callable[[dict], dict]] = None) -> List[Path]:
    """Write ``<data_dir>/<bench>/<split>.jsonl`` from Qwen's ``<dataset>/<split>.jsonl`` (``dataset``
    defaults to ``bench``; a mirror holds the files as ``<bench>/<split>.jsonl``)."""
    reject_extra(bench, ctx.extra)
    written = []
    for split in pick_splits(bench, ctx.split, default, list(splits)):
        with tempfile.TemporaryDirectory() as tmp:
            if ctx.mirror:
                src = mirror_file(ctx.mirror, bench, f"{split}.jsonl")
            else:
                src = download(QWEN_URL.format(dataset=dataset or bench, split=split), Path(tmp) / f"{split}.jsonl")
            rows = []
            for lineno, row in iter_jsonl(src):
                row = qwen_row(row, f"{src}:{lineno}")
                try:
                    rows.append(finish(row) if finish else row)
                except (KeyError, IndexError, TypeError, AttributeError) as exc:
                    raise UsageError(f"{src}:{lineno}: unexpected row ({type(exc).__name__}: {exc})") from None
        dest = out_file(ctx.data_dir, bench, split)
        write_jsonl(dest, rows)
        written.append(dest)
    return written
