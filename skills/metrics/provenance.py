"""Which prompt wording produced the files a table combines (``prompt_source`` of the output lines).

A number is only comparable with another one made from the same words, so ``summarize_results``
reads the ``*prompt_source`` fields (``prompt_source``, ``judgement_prompt_source``, ...) of each
file, warns when the files of one benchmark, or the benchmarks of one table, disagree, and writes
them next to ``metrics.json`` as ``<metrics stem>.prompt_sources.json``. ``metrics.json`` itself
keeps the reference's layout (``{bench: {eval_mode: {metric: value}}}``), which the reference's
table, W&B and group-score code read as is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Sequence

UNKNOWN = "unknown (no prompt_source field)"


def file_sources(path: Path) -> Dict[str, str]:
    """``{key: value}`` of the ``*prompt_source`` fields of a file's first line (one run, one prompt)."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError:
                    return {}
                if not isinstance(row, dict):
                    return {}
                return {k: str(v) for k, v in row.items() if k.endswith("prompt_source")}
    return {}


def bench_sources(name: str, files: Sequence[Path], warnings: List[str]) -> Dict[str, object]:
    """Per key, the one source of a benchmark's files, or every distinct one when they differ (+ a warning)."""
    per_file = [file_sources(f) for f in files]
    keys = sorted({k for s in per_file for k in s})
    out: Dict[str, object] = {}
    for key in keys:
        values: Dict[str, List[str]] = {}
        for f, s in zip(files, per_file):
            values.setdefault(s.get(key, UNKNOWN), []).append(f.name)
        if len(values) == 1:
            out[key] = next(iter(values))
        else:
            out[key] = sorted(values)
            detail = "; ".join(f"{v} ({', '.join(fs[:3])}{', ...' if len(fs) > 3 else ''})" for v, fs in values.items())
            warnings.append(f"{name} combines files made with different prompts ({key}: {detail}); "
                            "its numbers mix wordings")
    return out


def table_warning(sources: Dict[str, Dict[str, object]]) -> List[str]:
    """One line when the benchmarks of one table were generated from different prompt sets."""
    sets = {}
    for bench, keys in sources.items():
        value = keys.get("prompt_source")
        if isinstance(value, str):
            sets.setdefault(value.split("@")[0] if not value.startswith("file:") else "file", []).append(bench)
    if len(sets) < 2:
        return []
    detail = "; ".join(f"{s}: {', '.join(b)}" for s, b in sorted(sets.items()))
    return [f"the benchmarks in this table come from different prompt sets ({detail})"]


def sidecar_path(metrics_path: Path) -> Path:
    return metrics_path.with_name(f"{metrics_path.stem}.prompt_sources.json")
