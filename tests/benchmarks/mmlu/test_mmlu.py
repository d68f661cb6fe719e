"""MMLU from the staged ``data.tar``: prepared rows against rows computed here from the tar by the
reference's rules, the subject table, bad input, and the ``ns eval`` plan."""

from __future__ import annotations

import csv
import io
import json
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from skills.benchmarks.mmlu.prepare import prepare
from skills.benchmarks.mmlu.subjects import CATEGORY
from skills.config.errors import UsageError
from skills.registry.spec import PrepareContext
from tests.helpers.files import read_jsonl

# The reference writes a row's keys in this order (the CSV's columns first, then what it adds).
KEYS = ["A", "B", "C", "D", "expected_answer", "subtopic", "problem", "options", "subset_for_metrics",
        "examples_type"]


def expected_rows(tar_path: Path, split: str) -> list:
    """The reference's rules, written out: every data/<split>/*.csv member, headerless 6-cell rows."""
    out = []
    with tarfile.open(tar_path) as tar:
        for member in tar.getmembers():
            if not (member.name.startswith(f"data/{split}/") and member.name.endswith(".csv")):
                continue
            subject = member.name.split("/")[-1][: -len(f"_{split}.csv")]
            text = io.TextIOWrapper(tar.extractfile(member), encoding="utf-8")
            for q, a, b, c, d, ans in (r for r in csv.reader(text) if len(r) == 6):
                options = f"A) {a}\nB) {b}\nC) {c}\nD) {d}"
                out.append({"A": a, "B": b, "C": c, "D": d, "expected_answer": ans, "subtopic": subject,
                            "problem": q.strip("\n") + "\n\n" + options, "options": options,
                            "subset_for_metrics": CATEGORY[subject], "examples_type": f"mmlu_few_shot_{subject}"})
    return out


@pytest.mark.parametrize("split,count", [("test", 14042), ("dev", 285)])
def test_prepare_from_mirror_equals_the_reference_rules(mirror_dir, tmp_path, split, count):
    (dest,) = prepare(PrepareContext(data_dir=tmp_path, mirror=mirror_dir, split=split))
    rows = read_jsonl(dest)
    want = expected_rows(mirror_dir / "mmlu" / "data.tar", split)
    assert len(rows) == len(want) == count
    as_set = lambda rs: Counter(json.dumps(r, sort_keys=True) for r in rs)  # noqa: E731
    assert as_set(rows) == as_set(want)
    assert rows == want  # same tar, so the same order too
    assert all(list(r) == KEYS for r in rows)
    assert {r["expected_answer"] for r in rows} == set("ABCD")
    if split == "test":
        assert Counter(r["subset_for_metrics"] for r in rows)["math"] == 100 + 100 + 378 + 270 + 216
        assert len({r["subtopic"] for r in rows}) == 57


def test_subject_categories():
    """hendrycks/test's categories.py (first subcategory of each subject): 57 subjects, 17 categories."""
    assert len(CATEGORY) == 57
    per = Counter(CATEGORY.values())
    assert per == {"math": 5, "health": 8, "physics": 4, "business": 3, "biology": 2, "chemistry": 2,
                   "computer science": 4, "economics": 3, "engineering": 1, "philosophy": 6, "other": 3,
                   "history": 4, "geography": 1, "politics": 4, "psychology": 2, "culture": 2, "law": 3}
    assert CATEGORY["professional_accounting"] == "other" and CATEGORY["human_sexuality"] == "culture"
    assert list(CATEGORY)[:3] == ["abstract_algebra", "anatomy", "astronomy"]


def _tar(path: Path, members: dict) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_short_rows_skipped_and_bad_input_is_one_line(tmp_path, capsys):
    mirror = tmp_path / "mirror"
    (mirror / "mmlu").mkdir(parents=True)
    _tar(mirror / "mmlu" / "data.tar", {
        "data/test/virology_test.csv": 'Q1,a,b,c,d,A\n"Q2\nsecond line",a,b,c,d,C\nshort,row\n',
        "data/dev/virology_dev.csv": "Q,a,b,c,d,B\n",
        "data/test/README.txt": "not a csv",
    })
    (dest,) = prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror))
    rows = read_jsonl(dest)
    assert [r["expected_answer"] for r in rows] == ["A", "C"]
    assert rows[1]["problem"].startswith("Q2\nsecond line\n\nA) a") and rows[1]["subset_for_metrics"] == "health"
    assert "skipping a row of virology_test.csv" in capsys.readouterr().err
    with pytest.raises(UsageError, match="no data/val/"):
        prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, split="val"))
    with pytest.raises(UsageError, match="unknown split"):
        prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, split="train"))
    _tar(mirror / "mmlu" / "data.tar", {"data/test/astrology_test.csv": "Q,a,b,c,d,A\n"})
    with pytest.raises(UsageError, match="unknown subject 'astrology'"):
        prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror))
    (mirror / "mmlu" / "data.tar").write_bytes(b"not a tar")
    with pytest.raises(UsageError, match="cannot read"):
        prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror))
