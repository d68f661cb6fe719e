"""SimpleQA preparation: the staged ``test`` split against rows computed here from the CSV by the
reference's rules; the ``verified`` split (the reference's default, not obtainable here) on a
fixture in its upstream schema."""

from __future__ import annotations

import ast
import csv

import pytest

from skills.benchmarks.simpleqa.prepare import prepare
from skills.config.errors import UsageError
from skills.registry.spec import PrepareContext
from tests.helpers.files import read_jsonl

# codelion/SimpleQA-Verified's columns, in its file's order
VERIFIED = (
    'original_index,problem,answer,topic,answer_type,multi_step,requires_reasoning,urls\n'
    '5,"Who won the 1999 award, and why?",Jane Roe,Science and technology,Person,False,True,'
    '"[\'https://example.org/a\', \'https://example.org/b\']"\n'
    '17,In which year did it open?,1985,Geography,Date,True,False,https://example.org/c\n'
)


def test_test_split_from_mirror_equals_the_reference_rules(mirror_dir, tmp_path):
    (dest,) = prepare(PrepareContext(data_dir=tmp_path, mirror=mirror_dir, split="test"))
    rows = read_jsonl(dest)
    with open(mirror_dir / "simpleqa" / "simple_qa_test_set.csv", newline="", encoding="utf-8") as fh:
        want = [{"id": f"simpleqa_{i}", "metadata": ast.literal_eval(r["metadata"]), "question": r["problem"],
                 "expected_answer": r["answer"]} for i, r in enumerate(csv.DictReader(fh))]
    assert len(rows) == 4326
    assert rows == want and all(list(r) == ["id", "metadata", "question", "expected_answer"] for r in rows)
    assert rows[0]["question"] == "Who received the IEEE Frank Rosenblatt Award in 2010?"
    assert rows[0]["expected_answer"] == "Michio Sugeno" and rows[0]["metadata"]["answer_type"] == "Person"
    assert all(isinstance(r["expected_answer"], str) for r in rows)  # no answer read as a number or NaN


def test_verified_split_on_a_fixture(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "simpleqa").mkdir(parents=True)
    (mirror / "simpleqa" / "simpleqa_verified.csv").write_text(VERIFIED)
    (dest,) = prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror))  # verified is the default
    assert dest.name == "verified.jsonl"
    rows = read_jsonl(dest)
    assert rows[0] == {
        "id": 5,
        "metadata": {"original_index": 5, "problem": "Who won the 1999 award, and why?", "answer": "Jane Roe",
                     "topic": "Science and technology", "answer_type": "Person", "multi_step": False,
                     "requires_reasoning": True, "urls": "['https://example.org/a', 'https://example.org/b']"},
        "question": "Who won the 1999 award, and why?",
        "expected_answer": "Jane Roe",
    }
    # pandas' type inference, as the reference's HF loader: a mixed column stays text, flags are booleans
    assert rows[1]["id"] == 17 and rows[1]["metadata"]["multi_step"] is True
    assert rows[1]["expected_answer"] == "1985" and rows[1]["metadata"]["urls"] == "https://example.org/c"


def test_bad_input(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "simpleqa").mkdir(parents=True)
    with pytest.raises(UsageError, match="missing mirror file .*simpleqa_verified.csv"):
        prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror))
    (mirror / "simpleqa" / "simple_qa_test_set.csv").write_text("metadata,problem,answer\n\"{'topic': \",q,a\n")
    with pytest.raises(UsageError, match="row 1: metadata is not a Python literal"):
        prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, split="test"))
    (mirror / "simpleqa" / "simple_qa_test_set.csv").write_text("meta,problem,answer\nx,q,a\n")
    with pytest.raises(UsageError, match="lacks the columns metadata"):
        prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, split="test"))
    with pytest.raises(UsageError, match="unknown split"):
        prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, split="train"))
