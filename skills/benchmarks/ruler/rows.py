"""Generator rows -> the reference's rows, and the reference-style definitions of a prepared setup.

RULER's generators (NeMo-Skills mode) write ``{index, input, outputs, length, length_w_model_temp,
answer_prefix}`` (niah also ``token_position_answer``; its ``index`` is the first answer's character
offset in the input), the input already cut before the answer prefix. The reference keeps
``index``, ``question`` = input, ``expected_answer`` = outputs, ``length`` and ``generation`` = the
stripped answer prefix, which the text endpoint appends after the chat template so the model
continues the answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from skills.benchmarks.ruler import MATCH_TYPE, SCORE_MODULE, TOKENS_TO_GENERATE, family, generation_args
from skills.config.errors import UsageError
from skills.data.io import atomic_open


def convert(src: Path, dest: Path, expected_rows: int) -> int:
    """Stream ``src`` (generator output) into ``dest`` atomically; returns the number of rows."""
    count = 0
    with open(src, encoding="utf-8") as fin, atomic_open(dest) as fout:
        for count, line in enumerate(fin, 1):
            row = json.loads(line)
            missing = [k for k in ("index", "input", "outputs", "length", "answer_prefix") if k not in row]
            if missing:
                raise UsageError(f"{src}:{count}: not a RULER generator row (no {', '.join(missing)})")
            fout.write(json.dumps({
                "index": row["index"],
                "question": row["input"],
                "expected_answer": row["outputs"],
                "length": row["length"],
                "generation": row["answer_prefix"].strip(),
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
