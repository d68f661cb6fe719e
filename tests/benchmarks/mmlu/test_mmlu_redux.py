"""MMLU-Redux 2.0 on fixtures in the upstream schema (the data is not obtainable here): which
flagged questions are kept, the reference's ``"correct_answer"`` quirk and its switch, subject order."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from skills.benchmarks.mmlu.subjects import CATEGORY
from skills.benchmarks.mmlu_redux.prepare import prepare
from skills.config.errors import UsageError
from skills.registry.spec import PrepareContext
from tests.helpers.files import read_jsonl

SCHEMA = pa.schema([("question", pa.string()), ("choices", pa.list_(pa.string())), ("answer", pa.int64()),
                    ("error_type", pa.string()), ("source", pa.string()), ("correct_answer", pa.string()),
                    ("potential_reason", pa.string())])


def row(q, answer, error_type, correct=None):
    return {"question": q, "choices": [f"{q}-w", f"{q}-x", f"{q}-y", f"{q}-z"], "answer": answer,
            "error_type": error_type, "source": f"src-{q}", "correct_answer": correct, "potential_reason": ""}


ROWS = {
    "anatomy": [row("a1", 2, "ok"), row("a2", 0, "wrong_groundtruth", "B"), row("a3", 1, "wrong_groundtruth", None),
                row("a4", 1, "wrong_groundtruth", "2"), row("a5", 3, "multiple_correct_answers"),
                row("a6", 0, "no_correct_answer"), row("a7", 0, "bad_question_clarity"),
                row("a8", 0, "bad_options_clarity"), row("a9", 0, "expert"), row("a10", 3, "ok")],
    "abstract_algebra": [row("b1", 1, "ok")],
    "world_religions": [row("c1", 0, "ok")],
}


def write_mirror(root: Path) -> Path:
    """Every subject's ``<subject>/data-00000-of-00001.arrow`` (Arrow IPC stream, as ``datasets`` writes)."""
    for subject in CATEGORY:
        folder = root / "mmlu-redux" / subject
        folder.mkdir(parents=True)
        table = pa.Table.from_pylist(ROWS.get(subject, []), schema=SCHEMA)
        with pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as sink, pa.ipc.new_stream(sink, SCHEMA) as w:
            w.write_table(table)
    return root


def test_kept_questions_and_the_reference_quirk(tmp_path):
    mirror = write_mirror(tmp_path / "mirror")
    (dest,) = prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror))
    rows = read_jsonl(dest)
    # subjects in the reference's order (abstract_algebra, anatomy, ..., world_religions), flagged ones dropped
    assert [r["problem"].split("\n")[0] for r in rows] == ["b1", "a1", "a2", "a10", "c1"]
    assert [r["expected_answer"] for r in rows] == ["B", "C", "correct_answer", "D", "A"]
    first = rows[1]
    assert list(first) == ["expected_answer", "subset_for_metrics", "subcategory", "source", "problem", "options",
                           "A", "B", "C", "D"]
    assert first["subset_for_metrics"] == "health" and first["subcategory"] == "anatomy" and first["source"] == "src-a1"
    assert first["problem"] == "a1\n\nA) a1-w\nB) a1-x\nC) a1-y\nD) a1-z" and first["D"] == "a1-z"
    (dest,) = prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, extra={"groundtruth": "corrected"}))
    assert [r["expected_answer"] for r in read_jsonl(dest)] == ["B", "C", "B", "D", "A"]


def test_bad_input(tmp_path):
    mirror = write_mirror(tmp_path / "mirror")
    ctx = lambda **kw: PrepareContext(data_dir=tmp_path / "d", mirror=mirror, **kw)  # noqa: E731
    with pytest.raises(UsageError, match="--groundtruth must be one of reference, corrected"):
        prepare(ctx(extra={"groundtruth": "fixed"}))
    with pytest.raises(UsageError, match="unknown split"):
        prepare(ctx(split="dev"))
    (mirror / "mmlu-redux" / "virology" / "data-00000-of-00001.arrow").write_bytes(b"garbage")
    with pytest.raises(UsageError, match="cannot read .*virology"):
        prepare(ctx())
    (mirror / "mmlu-redux" / "virology" / "data-00000-of-00001.arrow").unlink()
    with pytest.raises(UsageError, match="missing mirror file .*virology"):
        prepare(ctx())
