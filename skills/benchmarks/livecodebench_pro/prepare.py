"""``ns prepare_data livecodebench-pro``: every split of HF ``anonymous1926/anonymous_dataset`` -> one
``test.jsonl``, as the reference: each upstream row with ``problem_id`` renamed ``task_id`` (moved to
the end), ``problem_statement`` renamed ``question`` and ``split`` = the split's name, splits in the
dataset's order (they are release windows and overlap, so a problem can appear more than once).

Sources: the mirror ``<mirror>/livecodebench-pro/<split>.jsonl`` (upstream rows), in the order of
``<mirror>/livecodebench-pro/splits.txt`` (one name a line), else the HF repository's Parquet files
``<split>-*.parquet`` (the layout HF's converter writes; the reference reads the same through
``datasets``). ``--split a,b`` keeps those splits only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, List, Tuple

from skills.benchmarks.livecodebench_pro import BENCH, HF_REPO
from skills.config.errors import UsageError
from skills.data.io import atomic_open
from skills.data.sources import hf_file, mirror_file, read_parquet

REQUIRED = ("problem_id", "problem_statement")


def _mirror_splits(mirror: Path) -> List[Tuple[str, List[dict]]]:
    order = [ln.strip() for ln in mirror_file(mirror, BENCH, "splits.txt").read_text().splitlines() if ln.strip()]
    out = []
    for name in order:
        path = mirror_file(mirror, BENCH, f"{name}.jsonl")
        rows = []
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise UsageError(f"{path}:{lineno}: not valid JSON ({exc})") from None
        out.append((name, rows))
    return out


def _hub_splits() -> List[Tuple[str, List[dict]]]:
    from huggingface_hub import list_repo_files

    by_split: Dict[str, List[str]] = {}
    for name in list_repo_files(HF_REPO, repo_type="dataset"):
        found = re.fullmatch(r"(?:.*/)?([^/]+?)-\d{5}-of-\d{5}\.parquet", name)
        if found:
            by_split.setdefault(found.group(1), []).append(name)
    if not by_split:
        raise UsageError(f"{BENCH}: no Parquet files in HF dataset {HF_REPO}")
    out = []
    for split, files in by_split.items():
        rows: List[dict] = []
        for name in sorted(files):
            path = hf_file(HF_REPO, name, gated=False)
            import pyarrow.parquet as pq

            rows += read_parquet(path, pq.read_schema(path).names)
        out.append((split, rows))
    return out


def format_row(row: dict, split: str, where: str) -> dict:
    if not isinstance(row, dict) or any(k not in row for k in REQUIRED):
        raise UsageError(f"{where}: not a LiveCodeBench Pro row (needs {', '.join(REQUIRED)})")
    out = dict(row)
    out["task_id"] = out.pop("problem_id")
    out["question"] = out.pop("problem_statement")
    out["split"] = split
    return out


def prepare(ctx) -> List[Path]:
    if ctx.extra:
        raise UsageError(f"{BENCH}: unknown prepare_data option --{next(iter(ctx.extra))}")
    splits = _mirror_splits(Path(ctx.mirror)) if ctx.mirror else _hub_splits()
    if ctx.split not in (None, "all", "test"):
        wanted = [s.strip() for s in ctx.split.split(",")]
        unknown = [s for s in wanted if s not in {n for n, _ in splits}]
        if unknown:
            raise UsageError(f"{BENCH}: unknown split {unknown[0]} (known: {', '.join(n for n, _ in splits)})")
        splits = [(n, rows) for n, rows in splits if n in wanted]
    out = Path(ctx.data_dir) / BENCH / "test.jsonl"
    with atomic_open(out) as fh:
        for name, rows in splits:
            for i, row in enumerate(rows):
                fh.write(json.dumps(format_row(row, name, f"{BENCH} split {name} row {i}")) + "\n")
    return [out]
