"""Files that NeMo-Skills itself ships (AIME ``test.txt``, prompt configs), at a pinned commit.

The commit is the snapshot our published numbers are matched against. Data files always come from
it; for prompt sets users may pick another (``$SKILLS_NEMO_SKILLS_COMMIT`` or an explicit argument).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra
from skills.data.io import atomic_open, download, read_jsonl
from skills.data.sources import mirror_file

NEMO_SKILLS_COMMIT = "0b012df8a09cd4730d31b16e90a0d8f13d145fb8"
REPO = "NVIDIA/NeMo-Skills"
COMMIT_ENV = "SKILLS_NEMO_SKILLS_COMMIT"


def pinned_commit(explicit: Optional[str] = None) -> str:
    return explicit or os.environ.get(COMMIT_ENV) or NEMO_SKILLS_COMMIT


def raw_url(path: str, commit: Optional[str] = None) -> str:
    """URL of one file of the NeMo-Skills repository at ``commit``."""
    return f"https://raw.githubusercontent.com/{REPO}/{pinned_commit(commit)}/{path}"


def prepare_shipped_jsonl(ctx, bench: str, required: Sequence[str]):
    """Copy ``nemo_skills/dataset/<bench>/test.txt`` (JSON lines) byte for byte after checking it."""
    pick_splits(bench, ctx.split, "test", ["test"])
    reject_extra(bench, ctx.extra)
    with tempfile.TemporaryDirectory() as tmp:
        if ctx.mirror:
            src = mirror_file(ctx.mirror, bench, "test.txt")
        else:
            src = download(raw_url(f"nemo_skills/dataset/{bench}/test.txt", NEMO_SKILLS_COMMIT),
                           Path(tmp) / "test.txt")
        for i, row in enumerate(read_jsonl(src), 1):
            if not isinstance(row, dict) or any(k not in row for k in required):
                raise UsageError(f"{src}: entry {i} lacks one of {', '.join(required)}")
        data = src.read_bytes()
    dest = out_file(ctx.data_dir, bench, "test")
    with atomic_open(dest, "wb") as fh:
        fh.write(data)
    return [dest]


def shipped_file(mirror: Optional[Path], bench: str, path: str, cache: Path) -> Path:
    """One NeMo-Skills file at the pinned commit (e.g. a ``prepare.py`` whose literals are the data):
    ``<mirror>/<bench>/<file name>`` when the mirror has it, else the copy kept at ``cache`` by an
    earlier run, else downloaded there. Read as data, never imported."""
    name = Path(path).name
    if mirror is not None and (mirror / bench / name).is_file():
        return mirror / bench / name
    if cache.is_file():
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    try:
        return download(raw_url(path, NEMO_SKILLS_COMMIT), cache)
    except UsageError as exc:
        where = f"{mirror / bench / name} is not in the mirror and " if mirror is not None else ""
        raise UsageError(f"{bench}: {where}NeMo-Skills' {path} could not be fetched ({exc.message})") from None
