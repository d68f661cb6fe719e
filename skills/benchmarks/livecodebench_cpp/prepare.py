"""``ns prepare_data livecodebench-cpp [--split v5_2408_2501,v6_2408_2505]`` (default: both, as the
reference): HF ``nvidia/LiveCodeBench-CPP`` ``test_<split>.jsonl`` -> ``<split>.jsonl`` and
``<split>.tests.jsonl``.

Rows as the reference's ``datasets.map`` leaves them: ``contest_date`` (as a string), ``difficulty``,
``task_id`` (= ``question_id``), ``question``, ``subset_for_metrics`` (= difficulty) and
``release_version`` (= the split). ``question``: statement, a blank line, then with starter code the
first C++ formatting sentence and the starter code in a ``cpp`` fence, else the second sentence and a
``// YOUR CODE HERE`` fence; every four spaces become a tab. The two sentences are the reference's
own (``PromptConstants`` of ``nemo_skills/dataset/livecodebench-cpp/prepare.py`` at its pin), read as
data with ``ast`` from that file (the mirror's ``livecodebench-cpp/prepare.py``, else GitHub at the
pin) and checked by hash. The tests (upstream encoding) go to ``<split>.tests.jsonl`` for the grader.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

from skills.benchmarks.livecodebench.prepare import TEST_FIELDS, UPSTREAM_FIELDS
from skills.benchmarks.livecodebench_cpp import BENCH, HF_REPO, SPLITS
from skills.config.errors import UsageError
from skills.data.io import atomic_open, download
from skills.data.nemo_skills import raw_url
from skills.data.sources import hf_file, mirror_file

REFERENCE_SCRIPT = "nemo_skills/dataset/livecodebench-cpp/prepare.py"
SENTENCE_SHA256 = {
    "FORMATTING_MESSAGE_WITH_STARTER_CODE": "0aa7131f428c2376cad7eeed10887dccaefc07c7947e20de1e9bf85598690bd5",
    "FORMATTING_WITHOUT_STARTER_CODE": "9c2a16ffc8be8415db8c49e0b0454bfd7c5c7e385ec9b2bf33b1b777a46f820b",
}


def sentences_from(source: str) -> Dict[str, str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == "PromptConstants":
            return {a.targets[0].id: a.value.value for a in node.body
                    if isinstance(a, ast.Assign) and len(a.targets) == 1 and isinstance(a.targets[0], ast.Name)
                    and isinstance(a.value, ast.Constant) and isinstance(a.value.value, str)}
    return {}


def formatting_sentences(mirror) -> Dict[str, str]:
    if mirror:
        path = mirror_file(Path(mirror), BENCH, "prepare.py")
        text = path.read_text(encoding="utf-8")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = download(raw_url(REFERENCE_SCRIPT), Path(tmp) / "prepare.py")
            text = path.read_text(encoding="utf-8")
    found = sentences_from(text)
    out = {k: found.get(k, "") for k in SENTENCE_SHA256}
    bad = [k for k, v in out.items() if hashlib.sha256(v.encode()).hexdigest() != SENTENCE_SHA256[k]]
    if bad:
        raise UsageError(f"{BENCH}: {path}: {', '.join(bad)} missing or not the reference's text "
                         f"(expected {REFERENCE_SCRIPT} at the reference's pin)")
    return out


def build_question(row: dict, sentences: Dict[str, str]) -> str:
    text = row["question_content"] + "\n\n"
    if row["starter_code"]:
        text += sentences["FORMATTING_MESSAGE_WITH_STARTER_CODE"] + "\n"
        text += "```cpp\n" + row["starter_code"] + "\n```\n\n"
    else:
        text += sentences["FORMATTING_WITHOUT_STARTER_CODE"] + "\n\n"
        text += "```cpp\n// YOUR CODE HERE\n```\n\n"
    return text.replace("    ", "\t")


def format_row(row: dict, split: str, sentences: Dict[str, str]) -> dict:
    # the reference casts the timestamp ``datasets`` reads to a string: "2024-08-03 00:00:00"
    return {"contest_date": str(row["contest_date"]).replace("T", " "), "difficulty": row["difficulty"],
            "task_id": row["question_id"], "question": build_question(row, sentences),
            "subset_for_metrics": row["difficulty"], "release_version": split}


def prepare(ctx) -> List[Path]:
    if ctx.extra:
        raise UsageError(f"{BENCH}: unknown prepare_data option --{next(iter(ctx.extra))}")
    splits = SPLITS if ctx.split in (None, "all") else tuple(dict.fromkeys(s.strip() for s in ctx.split.split(",")))
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise UsageError(f"{BENCH}: unknown split {unknown[0]} (known: {', '.join(SPLITS)})")
    sentences = formatting_sentences(ctx.mirror)
    written = []
    for split in splits:
        name = f"test_{split}.jsonl"
        source = mirror_file(Path(ctx.mirror), BENCH, name) if ctx.mirror else hf_file(HF_REPO, name, gated=False)
        out = Path(ctx.data_dir) / BENCH / f"{split}.jsonl"
        tests = Path(ctx.data_dir) / BENCH / f"{split}.tests.jsonl"
        count = 0
        with open(source, encoding="utf-8") as fh, atomic_open(out) as fo, atomic_open(tests) as ft:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise UsageError(f"{source}:{lineno}: not valid JSON ({exc})") from None
                missing = [f for f in UPSTREAM_FIELDS if not isinstance(row, dict) or f not in row]
                if missing:
                    raise UsageError(f"{source}:{lineno}: not an upstream LiveCodeBench-CPP row (no {missing[0]})")
                fo.write(json.dumps(format_row(row, split, sentences)) + "\n")
                ft.write(json.dumps({k: row[k] for k in TEST_FIELDS}) + "\n")
                count += 1
        print(f"{BENCH}: {split}: {count} problems", file=sys.stderr)
        written += [out, tests]
    return written
