"""``ns prepare_data bfcl_v3``: the 17 splits from the gorilla v1.3 mirror (or a download), checked by
SHA-256, rows built by bfcl-eval's own conversion in .venv-bfcl."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl

from skills.benchmarks.bfcl_v3 import SPLITS
from skills.config.errors import UsageError
from skills.data.prepare import prepare_benchmarks

COUNTS = {"simple": 400, "multiple": 200, "parallel": 200, "parallel_multiple": 200, "java": 100, "javascript": 50,
          "irrelevance": 240, "live_simple": 258, "live_multiple": 1053, "live_parallel": 16,
          "live_parallel_multiple": 24, "live_irrelevance": 882, "live_relevance": 18, "multi_turn_base": 200,
          "multi_turn_miss_func": 200, "multi_turn_miss_param": 200, "multi_turn_long_context": 200}


@pytest.fixture(scope="module")
def prepared(bfcl_python, mirror_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    written = prepare_benchmarks(["bfcl_v3"], out, mirror_dir)
    assert [p.relative_to(out).as_posix() for p in written["bfcl_v3"]] == [f"bfcl_v3/{s}/test.jsonl" for s in SPLITS]
    return out / "bfcl_v3"


def test_counts(prepared):
    counts = {s: len(read_jsonl(prepared / s / "test.jsonl")) for s in SPLITS}
    assert counts == COUNTS and sum(counts.values()) == 4441


def test_single_turn_fields(prepared):
    first = read_jsonl(prepared / "simple" / "test.jsonl")[0]
    assert list(first) == ["id", "question", "function", "single_turn", "tools"]
    assert first["single_turn"] is True and first["id"] == "simple_0"
    assert first["function"][0]["description"].endswith("Note that the provided function is in Python 3 syntax.")
    tool = first["tools"][0]
    assert tool["type"] == "function" and tool["function"]["name"] == first["function"][0]["name"].replace(".", "_")
    assert tool["function"]["parameters"]["type"] == "object"
    java = read_jsonl(prepared / "java" / "test.jsonl")[0]
    assert {p["type"] for p in java["tools"][0]["function"]["parameters"]["properties"].values()} == {"string"}
    dotted = [r for r in read_jsonl(prepared / "multiple" / "test.jsonl") if any("." in f["name"] for f in r["function"])]
    assert dotted and all("." not in t["function"]["name"] for r in dotted for t in r["tools"])


def test_multi_turn_fields(prepared):
    base = read_jsonl(prepared / "multi_turn_base" / "test.jsonl")[0]
    assert list(base) == ["id", "question", "initial_config", "path", "involved_classes", "single_turn", "function",
                          "tools"]
    assert base["single_turn"] is False and base["involved_classes"] == ["TwitterAPI", "GorillaFileSystem"]
    names = [f["name"] for f in base["function"]]
    assert "post_tweet" in names and "ls" in names and len(base["tools"]) == len(names)
    miss = read_jsonl(prepared / "multi_turn_miss_func" / "test.jsonl")[0]
    assert list(miss["missed_function"]) == ["3"] and [f["name"] for f in miss["missed_function"]["3"]] == ["sort"]
    assert "sort" not in [f["name"] for f in miss["function"]]
    assert "sort" not in [t["function"]["name"] for t in miss["tools"]]
    assert "Python 3 syntax" not in miss["missed_function"]["3"][0]["description"]  # raw docs, hinted when added


def test_one_split_and_unknown_split(bfcl_python, mirror_dir, tmp_path):
    written = prepare_benchmarks(["bfcl_v3"], tmp_path, mirror_dir, ["--split", "live_relevance"])
    assert [p.parent.name for p in written["bfcl_v3"]] == ["live_relevance"]
    with pytest.raises(UsageError, match="unknown split 'live'"):
        prepare_benchmarks(["bfcl_v3"], tmp_path, mirror_dir, ["--split", "live"])


def test_wrong_upstream_file_is_refused(bfcl_python, mirror_dir, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(mirror_dir / "bfcl_v3", mirror / "bfcl_v3")
    target = mirror / "bfcl_v3" / "BFCL_v3_simple.json"
    target.chmod(0o644)
    target.write_text("\n".join(target.read_text().splitlines()[:-1]) + "\n")  # one entry short
    with pytest.raises(UsageError, match="not the gorilla v1.3 file BFCL_v3_simple.json"):
        prepare_benchmarks(["bfcl_v3"], tmp_path / "data", mirror, ["--split", "simple"])
    (mirror / "bfcl_v3" / "multi_turn_func_doc" / "math_api.json").unlink()
    with pytest.raises(UsageError, match="missing mirror file .*math_api.json"):
        prepare_benchmarks(["bfcl_v3"], tmp_path / "data", mirror, ["--split", "irrelevance"])
    assert not (tmp_path / "data").exists()


def test_download_at_the_pinned_commit(bfcl_python, mirror_dir, tmp_path, monkeypatch):
    import skills.data.io as io

    fetched = []

    def fake_download(url, dest, **kwargs):  # serve the mirror's bytes for the GitHub URL
        fetched.append(url)
        name = url.split("/bfcl_eval/data/", 1)[1]
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror_dir / "bfcl_v3" / name, dest)
        return Path(dest)

    monkeypatch.delenv("SKILLS_DATA_MIRROR", raising=False)
    monkeypatch.setattr(io, "download", fake_download)
    written = prepare_benchmarks(["bfcl_v3"], tmp_path, None, ["--split", "multi_turn_miss_param"])
    assert len(read_jsonl(written["bfcl_v3"][0])) == 200
    assert all(u.startswith("https://raw.githubusercontent.com/ShishirPatil/gorilla/"
                            "ea13468e4423454d0c213704fb87cf7cb3990433/berkeley-function-call-leaderboard/")
               for u in fetched)
    assert sorted(u.rsplit("/", 1)[1] for u in fetched)[0] == "BFCL_v3_multi_turn_miss_param.json"
    assert len(fetched) == 9  # the split and the 8 function-doc files
