"""Arena-Hard v0.1 preparation: the questions and gpt-4-0314's answers from lmarena/arena-hard-auto.

Rows are the reference's: the question fields with ``prompt`` moved to the end as ``question``,
then ``baseline_answer`` = the baseline's first assistant turn (its ``content.answer`` when the
content is a dict). The reference downloads the files from the repository's main branch; we pin the
commit whose files it read (both last changed 2025-04-18, before the reference's commit) and check
their sha256, download or mirror (``<mirror>/arena-hard/question.jsonl``, ``gpt-4-0314.jsonl``) alike.
A question without a baseline answer is an error naming it (the reference fails with a KeyError).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Dict, List

from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits
from skills.data.io import download, read_jsonl, write_jsonl
from skills.data.sources import mirror_file

BENCH = "arena-hard"
COMMIT = "196f6b826783b3da7310e361a805fa36f0be83f3"
URL = "https://raw.githubusercontent.com/lmarena/arena-hard-auto/{commit}/data/arena-hard-v0.1/{path}"
FILES = {  # mirror name -> (repository path under data/arena-hard-v0.1/, sha256)
    "question.jsonl": ("question.jsonl", "2650242d2883f22b2abd498f273b6a7e02253cce533f5c91a858e1d44aa3002f"),
    "gpt-4-0314.jsonl": ("model_answer/gpt-4-0314.jsonl",
                         "0f6abc84de4600fde987d9db70f838f4ecdbd27a2f1f4058c12aa322a6f791b2"),
}


def _fetch(ctx, name: str, tmp: Path) -> Path:
    path, sha = FILES[name]
    src = mirror_file(ctx.mirror, BENCH, name) if ctx.mirror else download(URL.format(commit=COMMIT, path=path),
                                                                          tmp / name)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    if digest != sha:
        raise UsageError(f"{src}: sha256 {digest[:12]}... is not that of arena-hard-auto {path} @ {COMMIT[:8]} "
                         f"({sha[:12]}...)")
    return src


def baseline_answers(path: Path) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for row in read_jsonl(path):
        answer = ""
        for msg in row.get("messages", []):
            if msg.get("role") == "assistant":
                content = msg.get("content")
                answer = content.get("answer", "") if isinstance(content, dict) else content
                break
        out[row["uid"]] = answer
    return out


def format_rows(questions: Path, baseline: Path) -> List[dict]:
    answers = baseline_answers(baseline)
    rows = []
    for i, row in enumerate(read_jsonl(questions), 1):
        if "prompt" not in row or "uid" not in row:
            raise UsageError(f"{questions}:{i}: expected the fields uid and prompt")
        if row["uid"] not in answers:
            raise UsageError(f"{questions}:{i}: question {row['uid']} has no gpt-4-0314 answer in {baseline.name}")
        row["question"] = row.pop("prompt")
        row["baseline_answer"] = answers[row["uid"]]
        rows.append(row)
    return rows


def prepare(ctx):
    pick_splits(BENCH, ctx.split, "test", ["test"])
    if ctx.extra:
        raise UsageError(f"{BENCH}: unknown prepare_data option --{next(iter(ctx.extra))}")
    with tempfile.TemporaryDirectory() as tmp:
        rows = format_rows(_fetch(ctx, "question.jsonl", Path(tmp)), _fetch(ctx, "gpt-4-0314.jsonl", Path(tmp)))
    dest = out_file(ctx.data_dir, BENCH, "test")
    write_jsonl(dest, rows)
    return [dest]
