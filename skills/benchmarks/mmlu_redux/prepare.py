"""MMLU-Redux preparation: the 57 subject configs of ``edinburgh-dawg/mmlu-redux-2.0``, in the
reference's subject order, one line per kept question.

Which questions are kept (the reference's rule, from ZeroEval):

- ``error_type == "ok"``: kept, ``expected_answer`` = the letter of ``answer``;
- ``error_type == "wrong_groundtruth"`` with a ``correct_answer`` among A-D: kept. The reference
  writes the literal string ``"correct_answer"`` as ``expected_answer`` here (a bug: no letter can
  equal it, so these questions always count as wrong). Its published numbers include that, so it is
  our default too; ``--groundtruth=corrected`` writes the annotators' corrected letter instead;
- every other error type (unclear question or options, no or several correct answers, expert
  needed, wrong ground truth without a corrected letter): dropped.

Files: ``<subject>/data-00000-of-00001.arrow`` (the dataset's ``save_to_disk`` folders), from the
Hugging Face hub or ``<mirror>/mmlu-redux/<subject>/...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from skills.benchmarks.mmlu.subjects import CATEGORY
from skills.benchmarks.mmlu_redux import HF_FILE, HF_REPO
from skills.config.errors import UsageError
from skills.data.fields import mcq_fields, out_file, pick_splits, reject_extra
from skills.data.io import write_jsonl
from skills.data.sources import hf_file, mirror_file

BENCH = "mmlu-redux"
COLUMNS = ("question", "choices", "answer", "error_type", "source", "correct_answer")
GROUNDTRUTH = ("reference", "corrected")
REFERENCE_PLACEHOLDER = "correct_answer"  # what the reference writes for corrected questions


def read_arrow(path: Path) -> List[dict]:
    """Rows of a ``datasets`` arrow file (Arrow IPC stream; the file format is accepted too)."""
    import pyarrow as pa

    try:
        with pa.memory_map(str(path)) as source:
            try:
                table = pa.ipc.open_stream(source).read_all()
            except pa.ArrowInvalid:
                source.seek(0)
                table = pa.ipc.open_file(source).read_all()
    except (pa.ArrowException, OSError) as exc:
        raise UsageError(f"mmlu-redux: cannot read {path}: {exc}".splitlines()[0]) from None
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise UsageError(f"mmlu-redux: {path} lacks the columns {', '.join(missing)}")
    return table.select(list(COLUMNS)).to_pylist()


def expected_letter(row: dict, groundtruth: str) -> Optional[str]:
    """The expected answer of a kept question, None for a dropped one."""
    if row["error_type"] == "ok":
        return chr(ord("A") + row["answer"])
    if row["error_type"] == "wrong_groundtruth" and row["correct_answer"] in ("A", "B", "C", "D"):
        return REFERENCE_PLACEHOLDER if groundtruth == "reference" else row["correct_answer"]
    return None


def format_rows(rows: List[dict], subject: str, groundtruth: str = "reference") -> List[dict]:
    out = []
    for row in rows:
        expected = expected_letter(row, groundtruth)
        if expected is None:
            continue
        out.append({
            "expected_answer": expected,
            "subset_for_metrics": CATEGORY[subject],
            "subcategory": subject,
            "source": row["source"],
            **mcq_fields(row["question"], row["choices"]),
        })
    return out


def prepare(ctx):
    extra = dict(ctx.extra)
    groundtruth = extra.pop("groundtruth", "reference")
    if groundtruth not in GROUNDTRUTH:
        raise UsageError(f"mmlu-redux: --groundtruth must be one of {', '.join(GROUNDTRUTH)}, not {groundtruth!r}")
    reject_extra(BENCH, extra)
    split = pick_splits(BENCH, ctx.split, "test", ("test",))[0]
    rows = []
    for subject in CATEGORY:
        name = HF_FILE.format(subject=subject)
        src = mirror_file(ctx.mirror, BENCH, name) if ctx.mirror else hf_file(HF_REPO, name, gated=False)
        rows.extend(format_rows(read_arrow(src), subject, groundtruth))
    dest = out_file(ctx.data_dir, BENCH, split)
    write_jsonl(dest, rows)
    return [dest]
