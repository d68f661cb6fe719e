"""``ns prepare_data ifbench``: the pinned upstream file (mirror or download) and the staged NLTK data."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.helpers.paths import NS

from skills.registry.benchmarks import get_benchmark
from skills.benchmarks.ifbench import nltk_data
from tests.helpers.files import read_jsonl
from skills.benchmarks.ifbench import prepare as ifb
from skills.config.errors import UsageError
from skills.data.prepare import prepare_benchmarks



def test_spec_carries_the_reference_defaults():
    spec = get_benchmark("ifbench")
    assert spec.default_overrides() == ("++prompt_config=generic/default", "++eval_type=ifbench",
                                        "++generation_key=response")
    assert (spec.metrics_type, spec.eval_split, spec.dataset_group) == ("if", "test", "chat")


def test_from_mirror_rows_as_the_reference_writes_them(mirror_dir, tmp_path):
    (out,) = prepare_benchmarks(["ifbench"], tmp_path, mirror_dir)["ifbench"]
    assert out == tmp_path / "ifbench" / "test.jsonl"
    upstream = mirror_dir / "ifbench" / "IFBench_test.jsonl"
    assert hashlib.sha256(upstream.read_bytes()).hexdigest() == ifb.VERSIONS["2025-07"].sha256
    rows = read_jsonl(out)
    assert len(rows) == 294 and sum(len(r["instruction_id_list"]) for r in rows) == 335
    expected = [{**r, "question": r["prompt"]} for r in read_jsonl(upstream)]
    assert out.read_text() == "".join(json.dumps(r) + "\n" for r in expected)  # ASCII-escaped, key order kept
    assert list(rows[0]) == ["key", "prompt", "instruction_id_list", "kwargs", "question"]
    assert nltk_data.missing(tmp_path / "nltk_data") == []
    stamp = (tmp_path / "nltk_data" / "corpora" / "stopwords").stat().st_mtime_ns
    prepare_benchmarks(["ifbench"], tmp_path, mirror_dir)  # staged data is reused, not copied again
    assert (tmp_path / "nltk_data" / "corpora" / "stopwords").stat().st_mtime_ns == stamp


def test_version_option_through_the_cli(mirror_dir, tmp_path):
    res = subprocess.run([NS, "prepare_data", "ifbench", f"--data_dir={tmp_path}", f"--mirror={mirror_dir}",
                          "--version", "2026-04"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    rows = read_jsonl(tmp_path / "ifbench" / "test.jsonl")
    assert len(rows) == 300 and sum(len(r["instruction_id_list"]) for r in rows) == 344
    assert "version 2026-04 (300 prompts)" in res.stderr
    bad = subprocess.run([NS, "prepare_data", "ifbench", f"--data_dir={tmp_path}", f"--mirror={mirror_dir}",
                          "--version=2024"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown --version '2024'; choose from 2025-07, 2026-04" in bad.stderr


def test_a_file_that_is_not_the_pinned_one_is_refused(mirror_dir, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "ifbench").mkdir(parents=True)
    lines = (mirror_dir / "ifbench" / "IFBench_test.jsonl").read_text().splitlines(keepends=True)
    (mirror / "ifbench" / "IFBench_test.jsonl").write_text("".join(lines[:-1]))
    with pytest.raises(UsageError, match="sha256 .* is not that of IFBench_test.jsonl @ 8a66c069"):
        prepare_benchmarks(["ifbench"], tmp_path / "data", mirror)
    assert not (tmp_path / "data" / "ifbench" / "test.jsonl").exists()
    with pytest.raises(UsageError, match="unknown prepare_data option --seed"):
        prepare_benchmarks(["ifbench"], tmp_path / "data", mirror_dir, ["--seed", "1"])


def test_download_fetches_the_pinned_commit_and_nltk_packages(mirror_dir, tmp_path, monkeypatch):
    """No network here: the downloader is replaced by one serving the mirror's bytes, zipped as NLTK's
    package server serves them; the URLs asked for are checked."""
    asked = []

    def fake_download(url, dest, **_kw):
        asked.append(url)
        dest = Path(dest)
        if url.endswith("IFBench_test.jsonl"):
            shutil.copy(mirror_dir / "ifbench" / "IFBench_test.jsonl", dest)
        else:
            kind, name = url.split("/")[-2], url.split("/")[-1][: -len(".zip")]
            src = mirror_dir / "nltk_data" / kind / name
            with zipfile.ZipFile(dest, "w") as zf:
                for f in sorted(src.rglob("*")):
                    zf.write(f, f"{name}/{f.relative_to(src)}")
        return dest

    monkeypatch.setattr(ifb, "download", fake_download)
    monkeypatch.setattr("skills.data.io.download", fake_download)
    monkeypatch.delenv("SKILLS_DATA_MIRROR", raising=False)
    prepare_benchmarks(["ifbench"], tmp_path, None)
    assert asked[0] == ("https://raw.githubusercontent.com/allenai/IFBench/8a66c069755e98b8d0871829751da9fd7b6ce8f0/"
                        "data/IFBench_test.jsonl")
    assert asked[1:] == [f"https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/{r.kind}/{r.id}.zip"
                         for r in nltk_data.RESOURCES]
    assert len(read_jsonl(tmp_path / "ifbench" / "test.jsonl")) == 294
    assert nltk_data.missing(tmp_path / "nltk_data") == []
    english = "corpora/stopwords/english"
    assert (tmp_path / "nltk_data" / english).read_bytes() == (mirror_dir / "nltk_data" / english).read_bytes()


def test_nltk_archive_with_stray_paths_is_refused(tmp_path, monkeypatch):
    def evil(url, dest, **_kw):
        with zipfile.ZipFile(dest, "w") as zf:
            zf.writestr("../escape.txt", "x")
        return Path(dest)

    monkeypatch.setattr("skills.data.io.download", evil)
    with pytest.raises(UsageError, match="unexpected archive member '../escape.txt'"):
        nltk_data.stage(tmp_path / "nltk", None)
    assert not (tmp_path / "escape.txt").exists()


def test_grading_folder_lookup(tmp_path, monkeypatch, mirror_dir):
    monkeypatch.setenv("NLTK_DATA", str(mirror_dir / "nltk_data"))
    assert nltk_data.find(None, str(tmp_path)) == mirror_dir / "nltk_data"  # $NLTK_DATA after <data_dir>
    with pytest.raises(UsageError, match="not found in .*/empty: run `ns prepare_data ifbench`"):
        nltk_data.find(str(tmp_path / "empty"), None)  # an explicit folder is the only one tried
    monkeypatch.setenv("NLTK_DATA", "")
    (tmp_path / "nltk_data").symlink_to(mirror_dir / "nltk_data")
    assert nltk_data.find(None, str(tmp_path)) == tmp_path / "nltk_data"
