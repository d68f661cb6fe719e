"""Generator rows -> the reference's rows, and the reference-style definitions of a prepared setup.

The packaged generators write ``{index, input, outputs, length}`` with the answer prefix at the end
of ``input``. The reference's rows split it off as RULER's NeMo-Skills mode does (at the last
occurrence of the prefix's first 10 characters): ``question`` is the text before it,
``generation`` the stripped prefix, which the text endpoint appends after the chat template so the
model continues the answer. For niah tasks ``index`` is the character offset of the first answer in
the question (RULER's NeMo-Skills mode overwrites it so).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from skills.benchmarks.ruler import MATCH_TYPE, SCORE_MODULE, TOKENS_TO_GENERATE, family, generation_args
from skills.config.errors import UsageError
from skills.data.io import atomic_open


def convert(src: Path, dest: Path, answer_prefix: str, niah: bool, expected_rows: int) -> int:
    """Stream ``src`` (generator output) into ``dest`` atomically; returns the number of rows."""
    marker = answer_prefix[:10]
    count = 0
    with open(src, encoding="utf-8") as fin, atomic_open(dest) as fout:
        for count, line in enumerate(fin, 1):
            row = json.loads(line)
            text = row["input"]
            cut = text.rfind(marker) if marker else len(text)
            if cut < 0:
                raise UsageError(f"{src}:{count}: the answer prefix {marker!r} is not in the input")
            question = text[:cut]
            fout.write(json.dumps({
                "index": question.find(row["outputs"][0]) if niah else row["index"],
                "question": question,
                "expected_answer": row["outputs"],
                "length": row["length"],
                "generation": text[cut:].strip(),
            }) + "\n")
        if count != expected_rows:
            raise UsageError(f"{src}: {count} rows generated, {expected_rows} asked for")
    return count


def task_definition(task: str) -> str:
    """``<setup>/<task>/__init__.py``: the reference's constants (its tools read these files too)."""
    args = " ".join(generation_args(task))
    return (f'"""RULER {task}: {TOKENS_TO_GENERATE[family(task)]} tokens to generate, '
            f'match type {MATCH_TYPE[family(task)]} (written by ns prepare_data ruler)."""\n'
            f'DATASET_GROUP = "long-context"\nMETRICS_TYPE = "ruler"\nGENERATION_ARGS = "{args}"\n')


def group_definition(setup: str, tasks: Iterable[str]) -> str:
    members = "".join(f"    'ruler.{setup}.{t}': {{}},\n" for t in tasks)
    return (f'"""RULER setup {setup} (written by ns prepare_data ruler)."""\n'
            f"IS_BENCHMARK_GROUP = True\nSCORE_MODULE = '{SCORE_MODULE}'\nBENCHMARKS = {{\n{members}}}\n")
