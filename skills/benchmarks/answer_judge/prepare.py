"""answer-judge preparation: the reference keeps its 12 examples as a Python list (``data``) in its
own ``prepare.py``; that file is read from ``<mirror>/answer-judge/prepare.py``, or fetched at the
pinned NeMo-Skills commit (a copy kept as ``<data_dir>/answer-judge/.upstream-prepare.py``); the list
is read with ``ast`` (never imported or run) and written as ``test.jsonl`` the way the reference
dumps it (``json.dumps`` defaults, in order).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List

from skills.benchmarks.answer_judge import UPSTREAM_PREPARE
from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra
from skills.data.io import write_jsonl
from skills.data.nemo_skills import shipped_file

BENCH = "answer-judge"
KEYS = ("problem", "expected_answer", "predicted_answer", "expected_judgement")


def rows_from_source(source: str, where: str) -> List[dict]:
    """The literal list assigned to ``data`` at the file's top level, checked."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "data" for t in node.targets):
            try:
                rows = ast.literal_eval(node.value)
            except ValueError:
                raise UsageError(f"{where}: `data` is not a plain literal") from None
            if not isinstance(rows, list) or not rows:
                raise UsageError(f"{where}: `data` is not a non-empty list")
            for i, row in enumerate(rows, 1):
                if not isinstance(row, dict) or any(k not in row for k in KEYS):
                    raise UsageError(f"{where}: entry {i} lacks one of {', '.join(KEYS)}")
            return rows
    raise UsageError(f"{where}: no top-level `data = [...]`")


def prepare(ctx):
    reject_extra(BENCH, ctx.extra)
    pick_splits(BENCH, ctx.split, "test", ["test"])
    src = shipped_file(ctx.mirror, BENCH, UPSTREAM_PREPARE, Path(ctx.data_dir) / BENCH / ".upstream-prepare.py")
    rows = rows_from_source(src.read_text(encoding="utf-8"), str(src))
    dest = out_file(ctx.data_dir, BENCH, "test")
    write_jsonl(dest, rows)
    return [dest]
