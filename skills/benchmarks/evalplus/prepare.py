"""``ns prepare_data human-eval`` / ``mbpp``: the EvalPlus release file -> ``test.jsonl``.

As the reference: every upstream field but the (large) ``base_input`` / ``plus_input``, plus
``question`` = ``prompt`` with every four spaces as a tab. Beside it goes the plain upstream file,
named as EvalPlus caches it (``HumanEvalPlus-v0.1.9.jsonl``), which the grader reads (the reference's
EvalPlus re-reads its cache at grading time). The release file comes from the mirror
(``<mirror>/<benchmark>/<Name>.jsonl.gz``) or GitHub's release; its content must be the version the
pinned EvalPlus reads (md5 checked).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from pathlib import Path
from typing import List

from skills.benchmarks.evalplus import DATASETS, problems_file_name, release_url
from skills.config.errors import UsageError
from skills.data.io import atomic_open, download
from skills.data.sources import mirror_file

DROPPED = ("base_input", "plus_input")


def release_bytes(ctx, dataset: str) -> bytes:
    d = DATASETS[dataset]
    name = f"{d['name']}.jsonl.gz"
    if ctx.mirror:
        path = mirror_file(Path(ctx.mirror), d["benchmark"], name)
        raw = path.read_bytes()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = download(release_url(dataset), Path(tmp) / name)
            raw = path.read_bytes()
    try:
        plain = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise UsageError(f"{d['benchmark']}: {path} is not a gzip file ({exc})") from None
    digest = hashlib.md5(plain).hexdigest()
    if digest != d["md5"]:
        raise UsageError(f"{d['benchmark']}: {path} is not {d['name']} {d['version']} (md5 {digest}, expected "
                         f"{d['md5']}), the version the reference's EvalPlus grades with")
    return plain


def question_row(task: dict) -> dict:
    row = dict(task)
    row["question"] = row["prompt"].replace("    ", "\t")
    for key in DROPPED:
        row.pop(key, None)
    return row


def prepare_dataset(ctx, dataset: str) -> List[Path]:
    bench = DATASETS[dataset]["benchmark"]
    if ctx.split not in (None, "test"):
        raise UsageError(f"{bench}: the only split is test, got {ctx.split}")
    if ctx.extra:
        raise UsageError(f"{bench}: unknown prepare_data option --{next(iter(ctx.extra))}")
    plain = release_bytes(ctx, dataset)
    folder = Path(ctx.data_dir) / bench
    problems = folder / problems_file_name(dataset)
    with atomic_open(problems, "wb") as fh:
        fh.write(plain)
    out = folder / "test.jsonl"
    with atomic_open(out) as fh:
        for line in plain.decode("utf-8").splitlines():
            if line.strip():
                fh.write(json.dumps(question_row(json.loads(line))) + "\n")
    return [out, problems]
