"""IFEval preparation: Google's input_data.jsonl, the official checker's code, and NLTK data.

Rows are the reference's: every upstream field unchanged, then ``question`` = ``prompt``. The
reference downloads the data from google-research's master branch and clones the repository for the
checker; we pin one commit for both (``COMMIT``; the data file is sha256-checked: it has not changed
since 2023). The checker's files (``instruction_following_eval/*.py``) go to
``<data_dir>/ifeval/google-research`` with ``UPSTREAM.json`` (commit, origin, sha256 of each file);
from a mirror they are read from ``<mirror>/ifeval/google-research/`` laid out like the repository
(its ``COMMIT`` or ``SOURCE.md`` naming the commit), else downloaded file by file (the repository is
~1 GB; ``$SKILLS_IFEVAL_RAW_URL`` can point at an internal mirror: ``{commit}`` and ``{path}``).
The NLTK data (punkt_tab, for sentence and word counts) is IFBench's staging.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from skills.benchmarks.ifbench import nltk_data
from skills.benchmarks.ifbench.prepare import format_rows  # IFBench's rows have IFEval's shape
from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits
from skills.data.io import download, write_jsonl
from skills.data.sources import mirror_file
from skills.data.upstream import mirror_commit

BENCH = "ifeval"
REPO = "google-research/google-research"
COMMIT = "4c4299485319ed72ef782020c81784be5468924e"
RAW_URL = "https://raw.githubusercontent.com/google-research/google-research/{commit}/{path}"
DATA_PATH = "instruction_following_eval/data/input_data.jsonl"
DATA_SHA256 = "67ffeee0fcb87c317c5b08a2de85557b4a7e96ada6178aa645b4954fe4b53d49"
CODE_FILES = ("instruction_following_eval/evaluation_lib.py", "instruction_following_eval/evaluation_main.py",
              "instruction_following_eval/instructions.py", "instruction_following_eval/instructions_registry.py",
              "instruction_following_eval/instructions_util.py")
CODE_DIR = "google-research"  # under <data_dir>/ifeval/


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_intact(folder: Path) -> bool:
    try:
        record = json.loads((folder / "UPSTREAM.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all((folder / f).is_file() and _sha256(folder / f) == record.get("files", {}).get(f) for f in CODE_FILES)


def fetch_code(dest: Path, mirror) -> Path:
    """``dest`` holds the checker's files at the pin (from the mirror, else downloaded); atomic."""
    if code_intact(dest):
        return dest
    commit = os.environ.get("SKILLS_IFEVAL_COMMIT", COMMIT)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        folder = Path(mirror) / BENCH / CODE_DIR if mirror else None
        if folder is not None and folder.is_dir():
            held = mirror_commit(folder) or "unknown"
            origin = f"mirror:{folder}"
            for rel in CODE_FILES:
                if not (folder / rel).is_file():
                    raise UsageError(f"missing mirror file {folder / rel} (google-research's {rel})")
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(folder / rel, tmp / rel)
        else:
            held, origin = commit, RAW_URL.split("{")[0]
            template = os.environ.get("SKILLS_IFEVAL_RAW_URL") or RAW_URL
            for rel in CODE_FILES:
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                download(template.format(commit=commit, path=rel), tmp / rel)
        record = {"repo": REPO, "commit": held, "fetched_from": origin,
                  "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "files": {rel: _sha256(tmp / rel) for rel in CODE_FILES}}
        (tmp / "UPSTREAM.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def prepare(ctx):
    pick_splits(BENCH, ctx.split, "test", ["test"])
    if ctx.extra:
        raise UsageError(f"{BENCH}: unknown prepare_data option --{next(iter(ctx.extra))}")
    with tempfile.TemporaryDirectory() as tmp:
        if ctx.mirror:
            src = mirror_file(ctx.mirror, BENCH, "input_data.jsonl")
        else:
            src = download(RAW_URL.format(commit=COMMIT, path=DATA_PATH), Path(tmp) / "input_data.jsonl")
        digest = _sha256(src)
        if digest != DATA_SHA256:
            raise UsageError(f"{src}: sha256 {digest[:12]}... is not that of IFEval's input_data.jsonl "
                             f"({DATA_SHA256[:12]}...)")
        rows = format_rows(src)
    dest = out_file(ctx.data_dir, BENCH, "test")
    write_jsonl(dest, rows)
    code = fetch_code(Path(ctx.data_dir) / BENCH / CODE_DIR, ctx.mirror)
    folder = nltk_data.stage(Path(ctx.data_dir) / "nltk_data", ctx.mirror)
    print(f"{BENCH}: {len(rows)} prompts; checker in {code}; NLTK data in {folder}", file=sys.stderr)
    return [dest]
