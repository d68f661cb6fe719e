"""IFBench preparation: allenai's test file at a pinned commit, plus the NLTK data of its checkers.

Rows are written as the reference writes them: the upstream fields unchanged, then ``question`` =
``prompt``. The reference downloads whatever allenai/IFBench's main branch holds; we pin the file
instead (sha256-checked, download or mirror alike). ``--version`` picks it: ``2025-07`` (default,
the 294 prompts / 335 instructions behind NeMo-Skills' published numbers) or ``2026-04`` (upstream's
"fix test file", 300 / 344). The NLTK data goes to ``<data_dir>/nltk_data`` (see ``nltk_data``).
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from skills.benchmarks.ifbench import nltk_data
from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits
from skills.data.io import download, read_jsonl, write_jsonl
from skills.data.sources import mirror_file

BENCH = "ifbench"
URL = "https://raw.githubusercontent.com/allenai/IFBench/{commit}/data/IFBench_test.jsonl"
FIELDS = ("key", "prompt", "instruction_id_list", "kwargs")


@dataclass(frozen=True)
class DataVersion:
    commit: str
    mirror_name: str  # file name under <mirror>/ifbench/
    sha256: str
    prompts: int


VERSIONS: Dict[str, DataVersion] = {
    "2025-07": DataVersion("8a66c069755e98b8d0871829751da9fd7b6ce8f0", "IFBench_test.jsonl",
                           "11c3d683dcc7f4908a4d3cacd05c9a8bbd5484af2f8fde969e7abe2b8bad3e34", 294),
    "2026-04": DataVersion("db69a6f05689830b0068b8f1529ebcfd2f3b164c", "IFBench_test.2026-04-fix.jsonl",
                           "a2bf7b8e7ed11d39c65b4ec781da8b99663ed0121f97033d70fcecb61f8a9d85", 300),
}
DEFAULT_VERSION = "2025-07"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def format_rows(src: Path) -> List[dict]:
    """Upstream rows + ``question``; a row the checkers could not read is an error naming its line."""
    rows = []
    for i, row in enumerate(read_jsonl(src), 1):
        if not isinstance(row, dict) or not set(FIELDS) <= row.keys():
            raise UsageError(f"{src}:{i}: expected the fields {', '.join(FIELDS)}")
        if len(row["kwargs"]) != len(row["instruction_id_list"]):
            raise UsageError(f"{src}:{i}: kwargs and instruction_id_list differ in length")
        row["question"] = row["prompt"]
        rows.append(row)
    return rows


def prepare(ctx):
    pick_splits(BENCH, ctx.split, "test", ["test"])
    extra = dict(ctx.extra)
    name = extra.pop("version", DEFAULT_VERSION)
    if extra:
        raise UsageError(f"{BENCH}: unknown prepare_data option --{next(iter(extra))}")
    if name not in VERSIONS:
        raise UsageError(f"{BENCH}: unknown --version {name!r}; choose from {', '.join(VERSIONS)}")
    version = VERSIONS[name]
    with tempfile.TemporaryDirectory() as tmp:
        if ctx.mirror:
            src = mirror_file(ctx.mirror, BENCH, version.mirror_name)
        else:
            src = download(URL.format(commit=version.commit), Path(tmp) / "IFBench_test.jsonl")
        digest = _sha256(src)
        if digest != version.sha256:
            raise UsageError(f"{src}: sha256 {digest[:12]}... is not that of IFBench_test.jsonl @ "
                             f"{version.commit[:8]} ({version.sha256[:12]}...)")
        rows = format_rows(src)
    dest = out_file(ctx.data_dir, BENCH, "test")
    write_jsonl(dest, rows)
    folder = nltk_data.stage(Path(ctx.data_dir) / "nltk_data", ctx.mirror)
    print(f"{BENCH}: version {name} ({len(rows)} prompts); NLTK data for grading in {folder}", file=sys.stderr)
    return [dest]
