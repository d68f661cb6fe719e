"""``ns prepare_data ifeval``: the reference's rows (byte for byte), the checker's code with its record,
and the NLTK data, from the mirror; what goes wrong says so in one line."""

from __future__ import annotations

import json
import shutil

import pytest

from skills.benchmarks.ifeval import prepare as ifp
from skills.config.errors import UsageError
from skills.data.prepare import prepare_benchmarks
from skills.registry.benchmarks import get_benchmark


def _reference_rows(mirror) -> str:
    expected = ""
    for line in (mirror / "ifeval" / "input_data.jsonl").read_text().splitlines():
        row = json.loads(line)
        row["question"] = row["prompt"]  # the reference's prepare.py, described
        expected += json.dumps(row) + "\n"
    return expected


def test_rows_are_the_references(mirror_dir, tmp_path):
    from skills.data.io import write_jsonl

    write_jsonl(tmp_path / "test.jsonl", ifp.format_rows(mirror_dir / "ifeval" / "input_data.jsonl"))
    expected = _reference_rows(mirror_dir)
    assert (tmp_path / "test.jsonl").read_text() == expected and expected.count("\n") == 541


def test_prepare_writes_rows_code_and_nltk_data(ifeval_mirror, tmp_path):
    prepare_benchmarks(["ifeval"], data_dir=tmp_path, mirror=ifeval_mirror)
    assert (tmp_path / "ifeval" / "test.jsonl").read_text() == _reference_rows(ifeval_mirror)
    code = tmp_path / "ifeval" / "google-research"
    record = json.loads((code / "UPSTREAM.json").read_text())
    assert record["repo"] == "google-research/google-research" and sorted(record["files"]) == sorted(ifp.CODE_FILES)
    assert ifp.code_intact(code)
    source = ifeval_mirror / "ifeval" / "google-research"
    assert all((code / f).read_bytes() == (source / f).read_bytes() for f in ifp.CODE_FILES)
    assert record["fetched_from"] == f"mirror:{source}"
    assert (tmp_path / "nltk_data" / "tokenizers" / "punkt_tab" / "english").is_dir()
    # a second run keeps the intact code; a changed file is fetched again
    (code / ifp.CODE_FILES[0]).write_text("changed")
    assert not ifp.code_intact(code)
    prepare_benchmarks(["ifeval"], data_dir=tmp_path, mirror=ifeval_mirror)
    assert ifp.code_intact(code)


def test_a_changed_data_file_is_refused(mirror_dir, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "ifeval").mkdir(parents=True)
    shutil.copyfile(mirror_dir / "ifeval" / "input_data.jsonl", mirror / "ifeval" / "input_data.jsonl")
    path = mirror / "ifeval" / "input_data.jsonl"
    path.write_text(path.read_text().replace("Write", "write", 1))
    with pytest.raises(UsageError, match="sha256"):
        prepare_benchmarks(["ifeval"], data_dir=tmp_path / "data", mirror=mirror)


def test_a_mirror_without_part_of_the_code_is_one_line(ifeval_mirror, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(ifeval_mirror / "ifeval", mirror / "ifeval")
    (mirror / "ifeval" / "google-research" / ifp.CODE_FILES[2]).unlink()
    with pytest.raises(UsageError, match="missing mirror file .*instructions.py"):
        ifp.fetch_code(tmp_path / "code", mirror)
    assert not (tmp_path / "code").exists()


def test_spec_carries_the_reference_defaults():
    spec = get_benchmark("ifeval")
    assert spec.default_overrides() == ("++prompt_config=generic/default", "++eval_type=if",
                                        "++generation_key=response")
    assert (spec.metrics_type, spec.eval_split, spec.dataset_group) == ("if", "test", "chat")
