"""``ns prepare_data livebench-coding``: HF ``livebench/coding`` (split test) -> ``test.jsonl`` and
``test.tests.jsonl``.

Rows as the reference's ``datasets.map`` leaves them: ``question_id``, ``task``, ``partial_solution``
(the columns it keeps, in the dataset's order), then ``question`` = ``turns[0]`` with four spaces as
tabs. The tests file holds per problem what the reference's grader reloads from HF: ``question_id``,
``public_test_cases``, ``private_test_cases`` (plain JSON or the LiveCodeBench encoding) and
``metadata`` (= ``original_json.metadata``, where the grader finds ``func_name``).

Sources: ``<mirror>/livebench-coding/test.jsonl`` (upstream rows), else the HF repository's Parquet
files (``*.parquet`` under the repo). The data is not obtainable here: tests use an invented fixture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, List

from skills.benchmarks.livebench_coding import BENCH, HF_REPO
from skills.config.errors import UsageError
from skills.data.io import atomic_open
from skills.data.sources import hf_file, mirror_file, read_parquet

FIELDS = ("question_id", "category", "turns", "question_title", "public_test_cases", "private_test_cases",
          "original_json", "release_date", "citation", "task", "livebench_release_date", "livebench_removal_date",
          "remainder", "solution", "partial_solution")


def upstream_rows(ctx) -> Iterator[dict]:
    if ctx.mirror:
        path = mirror_file(Path(ctx.mirror), BENCH, "test.jsonl")
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise UsageError(f"{path}:{lineno}: not valid JSON ({exc})") from None
        return
    from huggingface_hub import list_repo_files

    for name in sorted(n for n in list_repo_files(HF_REPO, repo_type="dataset") if n.endswith(".parquet")):
        yield from read_parquet(hf_file(HF_REPO, name, gated=False), FIELDS)


def metadata_of(row: dict) -> str:
    original = row["original_json"]
    if isinstance(original, str):
        original = json.loads(original)
    meta = original.get("metadata", "{}") if isinstance(original, dict) else "{}"
    return meta if isinstance(meta, str) else json.dumps(meta)


def prepare(ctx) -> List[Path]:
    if ctx.extra:
        raise UsageError(f"{BENCH}: unknown prepare_data option --{next(iter(ctx.extra))}")
    if ctx.split not in (None, "test"):
        raise UsageError(f"{BENCH}: the only split is test, got {ctx.split}")
    folder = Path(ctx.data_dir) / BENCH
    out, tests = folder / "test.jsonl", folder / "test.tests.jsonl"
    with atomic_open(out) as fo, atomic_open(tests) as ft:
        for i, row in enumerate(upstream_rows(ctx)):
            missing = [f for f in ("question_id", "turns", "task", "partial_solution", "public_test_cases",
                                   "private_test_cases", "original_json") if f not in row]
            if missing:
                raise UsageError(f"{BENCH}: row {i} is not a livebench/coding row (no {missing[0]})")
            fo.write(json.dumps({"question_id": row["question_id"], "task": row["task"],
                                 "partial_solution": row["partial_solution"],
                                 "question": row["turns"][0].replace("    ", "\t")}) + "\n")
            ft.write(json.dumps({"question_id": row["question_id"], "public_test_cases": row["public_test_cases"],
                                 "private_test_cases": row["private_test_cases"], "metadata": metadata_of(row)}) + "\n")
    return [out, tests]
