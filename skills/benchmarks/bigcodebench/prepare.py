"""``ns prepare_data bigcodebench [--split full|hard]`` (default full): HF ``bigcode/bigcodebench``
(hard: ``bigcode/bigcodebench-hard``), split ``v0.1.4`` -> ``<split>.jsonl`` and ``<split>.problems.jsonl``.

Rows as the reference writes them: ``task_id``, ``question``, ``split``. The question is the
``instruct_prompt`` up to the sentence that introduces the starter code (stripped), a blank line,
that sentence, and ``code_prompt`` in a ```` ```python ```` fence; four spaces become a tab. The
problems file keeps what grading needs (``complete_prompt``, ``canonical_solution``, ``code_prompt``,
``test``, ``entry_point``, ``libs``): the reference's checker downloads the dataset again instead.
Sources: ``<mirror>/bigcodebench/<repo>/data/v0.1.4-00000-of-00001.parquet`` (``<repo>`` =
``bigcodebench`` or ``bigcodebench-hard``), else the HF file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List

from skills.benchmarks.bigcodebench import BENCH, HF_REPOS, VERSION
from skills.config.errors import UsageError
from skills.data.io import atomic_open
from skills.data.sources import hf_file, mirror_file, read_parquet

FILE = f"data/{VERSION}-00000-of-00001.parquet"
COLUMNS = ("task_id", "complete_prompt", "instruct_prompt", "canonical_solution", "code_prompt", "test",
           "entry_point", "doc_struct", "libs")
GRADING = ("task_id", "complete_prompt", "canonical_solution", "code_prompt", "test", "entry_point", "libs")
# The dataset's own sentence before the starter code; the reference splits instruct_prompt on it.
STARTER = "You should write self-contained code starting with:"


def fenced(code: str) -> str:
    return code if "```" in code and "```python" in code else f"```python\n{code}\n```"


def question(row: dict) -> str:
    text = row["instruct_prompt"]
    cut = text.find(STARTER)
    if cut < 0:
        raise UsageError(f"{BENCH}: {row['task_id']}: instruct_prompt lacks {STARTER!r}")
    return (text[:cut].strip() + "\n\n" + STARTER + "\n" + fenced(row["code_prompt"])).replace("    ", "\t")


def prepare(ctx) -> List[Path]:
    if ctx.extra:
        raise UsageError(f"{BENCH}: unknown prepare_data option --{next(iter(ctx.extra))}")
    split = ctx.split or "full"
    if split not in HF_REPOS:
        raise UsageError(f"{BENCH}: unknown split {split} (known: full, hard)")
    repo = HF_REPOS[split]
    name = repo.split("/")[1]
    path = mirror_file(Path(ctx.mirror), BENCH, f"{name}/{FILE}") if ctx.mirror else hf_file(repo, FILE, gated=False)
    rows = read_parquet(path, COLUMNS)
    folder = Path(ctx.data_dir) / BENCH
    out, problems = folder / f"{split}.jsonl", folder / f"{split}.problems.jsonl"
    with atomic_open(out) as fo, atomic_open(problems) as fp:
        for row in rows:
            fo.write(json.dumps({"task_id": row["task_id"], "question": question(row), "split": split}) + "\n")
            fp.write(json.dumps({k: row[k] for k in GRADING}) + "\n")
    return [out, problems]
