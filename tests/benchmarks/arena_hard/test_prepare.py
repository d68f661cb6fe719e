"""``ns prepare_data arena-hard``: the reference's rows from the pinned upstream files (mirror)."""

from __future__ import annotations

import json
import shutil

import pytest

from skills.benchmarks.arena_hard import prepare as ah
from skills.config.errors import UsageError
from skills.data.prepare import prepare_benchmarks
from skills.registry.benchmarks import get_benchmark


def _reference_rows(mirror_dir) -> str:
    """What the reference's prepare.py writes, done here from its description."""
    answers = {}
    for line in (mirror_dir / "arena-hard" / "gpt-4-0314.jsonl").read_text().splitlines():
        row = json.loads(line)
        msg = next(m for m in row["messages"] if m["role"] == "assistant")
        answers[row["uid"]] = msg["content"]["answer"] if isinstance(msg["content"], dict) else msg["content"]
    out = []
    for line in (mirror_dir / "arena-hard" / "question.jsonl").read_text().splitlines():
        row = json.loads(line)
        row["question"] = row.pop("prompt")
        row["baseline_answer"] = answers[row["uid"]]
        out.append(json.dumps(row) + "\n")
    return "".join(out)


def test_rows_are_the_references(mirror_dir, tmp_path):
    prepare_benchmarks(["arena-hard"], data_dir=tmp_path, mirror=mirror_dir)
    text = (tmp_path / "arena-hard" / "test.jsonl").read_text()
    assert text == _reference_rows(mirror_dir)
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 500 and list(rows[0]) == ["uid", "category", "cluster", "question", "baseline_answer"]
    assert all(r["baseline_answer"] for r in rows)


def test_a_changed_file_is_refused(mirror_dir, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(mirror_dir / "arena-hard", mirror / "arena-hard")
    path = mirror / "arena-hard" / "question.jsonl"
    path.write_text(path.read_text().replace("folk tune", "folk song", 1))
    with pytest.raises(UsageError, match="sha256"):
        prepare_benchmarks(["arena-hard"], data_dir=tmp_path / "data", mirror=mirror)
    assert not (tmp_path / "data" / "arena-hard" / "test.jsonl").exists()


def test_a_question_without_baseline_answer_is_named(tmp_path):
    (tmp_path / "q.jsonl").write_text('{"uid": "u1", "prompt": "hi"}\n')
    (tmp_path / "b.jsonl").write_text('{"uid": "u2", "messages": [{"role": "assistant", "content": "x"}]}\n')
    with pytest.raises(UsageError, match="u1 has no gpt-4-0314 answer"):
        ah.format_rows(tmp_path / "q.jsonl", tmp_path / "b.jsonl")


def test_spec_carries_the_reference_defaults():
    spec = get_benchmark("arena-hard")
    assert spec.default_overrides() == ("++prompt_config=generic/default",)
    assert (spec.metrics_type, spec.eval_split, spec.dataset_group, spec.eval_type) == ("arena", "test", "chat", None)
