"""Which prompt wording and which grading code produced the files a table combines.

A number is only comparable with another one made from the same words, so ``summarize_results``
reads the ``*prompt_source`` fields (``prompt_source``, ``judgement_prompt_source``, ...) of each
file, warns when the files of one benchmark, or the benchmarks of one table, disagree, and writes
them next to ``metrics.json`` as ``<metrics stem>.prompt_sources.json``. ``metrics.json`` keeps the
reference's layout (``{bench: {eval_mode: {metric: value}}}``) with two additions, present only when
they apply: ``prompt_wording`` (``"own (generation)"``, ...) in every mode of a benchmark generated
or judged with skills' own prompt wording instead of the reference's (``++prompt_source=own``; the
table shows it as a column), and the fields a metric type records about its grading code
(``Scorer.recorded_fields``, e.g. BFCL's ``bfcl_checker``; not printed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from skills.prompt_sets import BUILTIN

UNKNOWN = "unknown (no prompt_source field)"
WORDING_KEY = "prompt_wording"


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


def _role(key: str) -> str:
    return "generation" if key == "prompt_source" else key[: -len("_prompt_source")]


def wording_mark(sources: Dict[str, object]) -> Optional[str]:
    """``"own (generation, judgement)"`` when any of a benchmark's prompts was our own wording."""
    own = [_role(k) for k, v in sources.items() if v == BUILTIN or (isinstance(v, list) and BUILTIN in v)]
    return f"own ({', '.join(own)})" if own else None


def recorded(files: Sequence[Path], fields: Sequence[str]) -> Dict[str, object]:
    """The first line's value of each field, per file; one value, or the sorted distinct ones."""
    out: Dict[str, object] = {}
    if not fields:
        return out
    firsts = [_first_row(f) for f in files]
    for key in fields:
        values = sorted({str(row[key]) for row in firsts if row.get(key) is not None})
        if values:
            out[key] = values[0] if len(values) == 1 else values
    return out


def _first_row(path: Path) -> Dict[str, object]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError:
                    return {}
                return row if isinstance(row, dict) else {}
    return {}


def marks(sources: Dict[str, object], files: Sequence[Path], fields: Sequence[str]) -> Dict[str, object]:
    """What goes into every mode of a benchmark's metrics (empty for reference wording, no fields)."""
    out = recorded(files, fields)
    wording = wording_mark(sources)
    if wording:
        out[WORDING_KEY] = wording
    return out
