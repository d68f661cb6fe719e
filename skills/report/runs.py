"""A results folder as per-problem data: scores of every seed, answers, tokens and identity digests.

Files are read in lockstep by ``skills.metrics.compute.read_lockstep`` (line i of every file is
problem i) and found by ``skills.metrics.summarize`` (``find_benchmarks``, ``result_files``), so a
report or comparison sees exactly the rows the summary tables count. Only small per-problem fields
are kept; ``sink`` receives each problem's raw rows on the way (the report compresses sample texts
there), so a 12k x 8 run is never held in memory as rows.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.data.recorded import group_by_settings, mixed_refusal
from skills.metrics.compute import read_lockstep
from skills.metrics.summarize import find_benchmarks, result_files
from skills.metrics.types import metric_type_for
from skills.report.scores import Extractor, score_row

# Input fields that identify a problem; a prompt-set field changes what the model was shown.
IDENTITY_FIELDS = ("id", "task_id", "problem", "question", "expected_answer", "options", "subset_for_metrics")
PROMPT_FIELDS = ("prompt_source", "examples_type")
TEXT_FIELDS = ("problem", "question", "prompt")
PREVIEW_CHARS = 200

Sink = Callable[[int, List[Dict[str, Any]]], None]


def digest(value: Any) -> str:
    """Short stable hash of a JSON value (problem texts are compared by digest, not kept)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def problem_text(row: Mapping[str, Any]) -> str:
    """The problem as the model saw it: ``problem``/``question``/``prompt`` or the last user message."""
    for key in TEXT_FIELDS:
        if isinstance(row.get(key), str):
            return row[key]
    messages = row.get("messages")
    if isinstance(messages, list):
        for msg in reversed(messages):
            if isinstance(msg, dict) and msg.get("role") == "user":
                return str(msg.get("content", ""))
    return ""


def as_text(value: Any) -> Optional[str]:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def short(text: Optional[str], limit: int = PREVIEW_CHARS) -> Optional[str]:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def seed_label(path: Path) -> str:
    """``output-rs3.jsonl`` -> ``rs3``; greedy ``output.jsonl`` -> ``greedy``."""
    stem = path.name[: -len(".jsonl")] if path.name.endswith(".jsonl") else path.name
    if stem == "output":
        return "greedy"
    return stem[len("output-"):] if stem.startswith("output-") else stem


@dataclass
class BenchmarkRun:
    """One benchmark of one run; lists are indexed by problem (line number - 1)."""

    name: str
    folder: Path
    files: List[Path]
    extractor: Extractor
    methods: List[str] = field(default_factory=list)
    scores: Dict[str, List[List[float]]] = field(default_factory=dict)  # method -> problem -> seed
    subsets: List[Optional[str]] = field(default_factory=list)
    previews: List[str] = field(default_factory=list)
    expected: List[Optional[str]] = field(default_factory=list)
    answers: List[List[Optional[str]]] = field(default_factory=list)
    tokens: List[List[Optional[int]]] = field(default_factory=list)
    finish: List[List[Optional[str]]] = field(default_factory=list)
    identity: List[Dict[str, str]] = field(default_factory=list)  # field -> digest
    prompt_ids: List[Dict[str, str]] = field(default_factory=list)

    @property
    def num_problems(self) -> int:
        return len(self.previews)

    @property
    def num_seeds(self) -> int:
        return len(self.files)

    @property
    def seed_labels(self) -> List[str]:
        return [seed_label(f) for f in self.files]

    @property
    def main(self) -> str:
        return self.extractor.main_method(self.methods)

    def subset_names(self) -> List[str]:
        """Subsets in first-appearance order (as summarize names its calculators)."""
        return list(dict.fromkeys(s for s in self.subsets if s is not None))


def load_benchmark(folder: Path, extractor: Extractor, sink: Optional[Sink] = None,
                   files: Optional[Sequence[Path]] = None) -> BenchmarkRun:
    """Read one benchmark folder; every row must be scorable with the same methods."""
    files = list(files) if files is not None else result_files(folder)
    groups, _ = group_by_settings(files)
    if len(groups) > 1:  # a score, a comparison or a report of two settings at once (skills.data.recorded)
        raise UsageError(mixed_refusal(folder.name, groups))
    run = BenchmarkRun(folder.name, folder, files, extractor)
    for i, rows in enumerate(read_lockstep(files)):
        per_seed = [score_row(extractor, r, f"{f}:{i + 1}") for r, f in zip(rows, files)]
        if i == 0:
            run.methods = list(per_seed[0])
            run.scores = {m: [] for m in run.methods}
        for m in run.methods:
            try:
                run.scores[m].append([d[m] for d in per_seed])
            except KeyError:
                bad = next(f for f, d in zip(files, per_seed) if m not in d)
                raise UsageError(f"{bad}:{i + 1}: the row has no '{m}' (the first row has it)") from None
        first = rows[0]
        run.subsets.append(first.get("subset_for_metrics"))
        run.previews.append(short(problem_text(first)) or "")
        run.expected.append(short(as_text(first.get("expected_answer"))))
        run.answers.append([short(as_text(r.get(extractor.answer_key))) for r in rows])
        run.tokens.append([r.get("num_generated_tokens") for r in rows])
        run.finish.append([r.get("finish_reason") for r in rows])
        run.identity.append({k: digest(first[k]) for k in IDENTITY_FIELDS if k in first})
        run.prompt_ids.append({k: digest(first[k]) for k in PROMPT_FIELDS if k in first})
        if sink is not None:
            sink(i, rows)
    if not run.previews:
        raise UsageError(f"No result rows in {folder}")
    return run


@dataclass(frozen=True)
class BenchmarkFolder:
    name: str
    folder: Path
    metric_type: str


def find_runs(results_dir: str, benchmarks: Optional[str] = None, metric_type: Optional[str] = None,
              extra_datasets: Optional[str] = None, warn: bool = True) -> Tuple[Path, List[BenchmarkFolder]]:
    """(results root, benchmark folders with their metric types), as ``summarize`` finds them;
    a folder of unknown type is skipped (with a warning when ``warn``) unless asked for by name."""
    wanted = [b.strip() for b in benchmarks.split(",")] if benchmarks else None
    root, dirs, _groups = find_benchmarks(Path(results_dir), wanted)  # group members are benchmarks here
    found = []
    for d in dirs:
        try:
            found.append(BenchmarkFolder(d.name, d, metric_type_for(d.name, metric_type, extra_datasets)))
        except UsageError as exc:
            if wanted or len(dirs) == 1:
                raise
            if warn:
                print(f"Warning: skipping {d.name}: {exc.message}", file=sys.stderr)
    return root, found

