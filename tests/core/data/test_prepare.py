"""``prepare_benchmarks`` from the upstream mirror: fields, counts, GPQA shuffle, error messages,
atomic writes; HLE from the small invented fixture in tests/fixtures/hle."""

from __future__ import annotations

import csv
import random
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers.paths import FIXTURES
from tests.helpers.files import read_jsonl
from skills.config.errors import UsageError
from skills.data import default_data_dir
from skills.data.io import atomic_open, download
from skills.data.prepare import parse_extra_args, prepare_benchmarks

MCQ_KEYS = ["problem", "options"]


@pytest.fixture(scope="module")
def prepared(mirror_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    written = prepare_benchmarks(["math-500", "aime24", "aime25", "gpqa", "mmlu-pro"], out, mirror_dir)
    assert {k: [p.name for p in v] for k, v in written.items()} == {
        "math-500": ["test.jsonl"], "aime24": ["test.jsonl"], "aime25": ["test.jsonl"],
        "gpqa": ["diamond.jsonl"], "mmlu-pro": ["test.jsonl"],
    }
    return out


@pytest.mark.parametrize("bench, split, count", [
    ("math-500", "test", 500), ("aime24", "test", 30), ("aime25", "test", 30),
    ("gpqa", "diamond", 198), ("mmlu-pro", "test", 12032),
])
def test_counts(prepared, bench, split, count):
    assert len(read_jsonl(prepared / bench / f"{split}.jsonl")) == count


def test_math500_fields(prepared, mirror_dir):
    rows = read_jsonl(prepared / "math-500" / "test.jsonl")
    raw = read_jsonl(mirror_dir / "math-500" / "test.jsonl")
    assert list(rows[0]) == ["problem", "subject", "level", "unique_id", "expected_answer", "reference_solution"]
    assert [r["expected_answer"] for r in rows] == [r["answer"] for r in raw]
    assert rows[0]["unique_id"] == "test/precalculus/807.json"


@pytest.mark.parametrize("bench", ["aime24", "aime25"])
def test_aime_is_a_copy(prepared, mirror_dir, bench):
    assert (prepared / bench / "test.jsonl").read_bytes() == (mirror_dir / bench / "test.txt").read_bytes()
    assert {"id", "problem", "expected_answer", "reference_solution"} <= set(read_jsonl(prepared / bench / "test.jsonl")[0])


def _clean(text):
    return " " if text is None else text.strip().replace(" [title]", ". ").replace("  ", " ")


def test_gpqa_shuffle_matches_documented_procedure(prepared, mirror_dir):
    """random.seed(42) once, then random.shuffle([inc1, inc2, inc3, correct]) per row in file order."""
    with open(mirror_dir / "gpqa" / "gpqa_diamond.csv", newline="", encoding="utf-8") as fh:
        raw = [{k: (v or None) for k, v in r.items()} for r in csv.DictReader(fh)]
    rows = read_jsonl(prepared / "gpqa" / "diamond.jsonl")
    random.seed(42)
    expected_letters = []
    for r in raw:
        choices = [_clean(r[f"Incorrect Answer {i}"]) for i in (1, 2, 3)] + [_clean(r["Correct Answer"])]
        random.shuffle(choices)
        expected_letters.append("ABCD"[choices.index(_clean(r["Correct Answer"]))])
    assert [r["expected_answer"] for r in rows] == expected_letters
    assert Counter(expected_letters) == {"B": 57, "A": 50, "D": 48, "C": 43}
    first = rows[0]
    assert list(first) == ["expected_answer", "explanation", "subset_for_metrics", "difficulty", *MCQ_KEYS,
                           "A", "B", "C", "D"]
    assert first[first["expected_answer"]] == "10^-4 eV"
    assert first["subset_for_metrics"] == "Physics (general)"
    assert first["difficulty"] == "Hard undergraduate level"
    assert first["options"].splitlines()[0].startswith("A) ")
    assert first["problem"] == raw[0]["Question"].strip("\n") + "\n\n" + first["options"]
    assert sum(r["difficulty"] is None for r in rows) == 4


def test_gpqa_seed_option(mirror_dir, tmp_path):
    prepare_benchmarks(["gpqa"], tmp_path, mirror_dir, ["--random_seed", "7"])
    other = [r["expected_answer"] for r in read_jsonl(tmp_path / "gpqa" / "diamond.jsonl")]
    assert Counter(other) != {"B": 57, "A": 50, "D": 48, "C": 43}


def test_mmlu_pro_fields(prepared):
    rows = read_jsonl(prepared / "mmlu-pro" / "test.jsonl")
    first = rows[0]
    assert list(first)[:5] == ["expected_answer", "examples_type", "subset_for_metrics", *MCQ_KEYS]
    assert first["examples_type"] == "mmlu_pro_few_shot_business"
    assert first["problem"].startswith(first["problem"].split("\n\n")[0] + "\n\nA) ")
    assert first[first["expected_answer"]] in first["options"]
    subsets = Counter(r["subset_for_metrics"] for r in rows)
    assert len(subsets) == 14 and "computer_science" in subsets
    sizes = Counter(sum(k in r for k in "ABCDEFGHIJ") for r in rows)
    assert sizes == {10: 9981, 9: 801, 8: 320, 7: 159, 6: 92, 5: 52, 4: 607, 3: 20}


def test_mmlu_pro_validation_split(mirror_dir, tmp_path):
    written = prepare_benchmarks(["mmlu-pro"], tmp_path, mirror_dir, ["--split=validation"])
    assert [p.name for p in written["mmlu-pro"]] == ["validation.jsonl"]
    assert len(read_jsonl(tmp_path / "mmlu-pro" / "validation.jsonl")) == 70


def test_hle_from_fixture(tmp_path):
    written = prepare_benchmarks(["hle"], tmp_path, FIXTURES)
    names = [p.name for p in written["hle"]]
    assert names[0] == "text.jsonl" and len(names) == 9
    rows = read_jsonl(tmp_path / "hle" / "text.jsonl")
    assert len(rows) == 9  # 12 invented questions, 3 with an image
    assert list(rows[0]) == ["id", "problem", "expected_answer", "answer_type", "reference_solution",
                             "raw_subject", "subset_for_metrics", "author_name", "canary"]
    assert {"fx04", "fx06", "fx10"}.isdisjoint(r["id"] for r in rows)
    assert [r["id"] for r in read_jsonl(tmp_path / "hle" / "math.jsonl")] == ["fx01", "fx02", "fx03"]
    assert read_jsonl(tmp_path / "hle" / "cs.jsonl")[0]["subset_for_metrics"] == "Computer Science/AI"
    assert (tmp_path / "hle" / "eng.jsonl").read_text() == ""
    prepare_benchmarks(["hle"], tmp_path / "one", FIXTURES, ["--split", "text"])
    assert [p.name for p in (tmp_path / "one" / "hle").iterdir()] == ["text.jsonl"]


def test_hle_fixture_matches_generator(tmp_path):
    import importlib.util

    import pyarrow.parquet as pq

    spec = importlib.util.spec_from_file_location("make_fixture", FIXTURES / "hle" / "make_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = pq.read_table(FIXTURES / "hle" / "data" / "test-00000-of-00001.parquet")
    assert committed.equals(module.build_table())


def test_hle_needs_token_without_mirror(tmp_path, monkeypatch):
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "SKILLS_DATA_MIRROR"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(UsageError, match="gated.*HF_TOKEN"):
        prepare_benchmarks(["hle"], tmp_path)
    assert not (tmp_path / "hle").exists()


def test_unknown_benchmark_and_split(tmp_path, mirror_dir):
    with pytest.raises(UsageError, match="unknown benchmark 'math-5000'"):
        prepare_benchmarks(["aime24", "math-5000"], tmp_path, mirror_dir)
    assert not any(tmp_path.iterdir())  # nothing prepared before the name check
    with pytest.raises(UsageError, match="unknown split 'dev'"):
        prepare_benchmarks(["mmlu-pro"], tmp_path, mirror_dir, ["--split", "dev"])
    with pytest.raises(UsageError, match="unknown prepare_data option --foo"):
        prepare_benchmarks(["aime24"], tmp_path, mirror_dir, ["--foo", "1"])


def test_mirror_env_and_missing_files(tmp_path, monkeypatch, mirror_dir):
    empty = tmp_path / "mirror"
    empty.mkdir()
    monkeypatch.setenv("SKILLS_DATA_MIRROR", str(empty))
    with pytest.raises(UsageError, match=r"missing mirror file .*aime24[/\\]test\.txt"):
        prepare_benchmarks(["aime24"], tmp_path / "out")
    with pytest.raises(UsageError, match=r"missing mirror file .*gpqa_main\.csv"):
        prepare_benchmarks(["gpqa"], tmp_path / "out", mirror_dir, ["--split", "main"])
    with pytest.raises(UsageError, match="not a folder"):
        prepare_benchmarks(["aime24"], tmp_path / "out", tmp_path / "nope")


def _corrupt_mirror(tmp_path: Path, mirror_dir: Path, bench: str, name: str, mutate) -> Path:
    root = tmp_path / "mirror"
    (root / bench).mkdir(parents=True)
    target = root / bench / name
    target.write_bytes(mutate((mirror_dir / bench / name).read_bytes()))
    return root


@pytest.mark.parametrize("bench, name, mutate, message", [
    ("mmlu-pro", "test-00000-of-00001.parquet", lambda b: b[: len(b) // 2], "corrupt parquet file"),
    ("math-500", "test.jsonl", lambda b: b.replace(b"\n", b"\n{oops\n", 1), r"test\.jsonl:2: not valid JSON"),
    ("aime25", "test.txt", lambda b: b + b"[1, 2]\n", "entry 31 lacks"),
    ("gpqa", "gpqa_diamond.csv", lambda b: b.replace(b",Question,Correct Answer,", b",Question,Right,", 1),
     "wrong CSV header"),
])
def test_corrupt_mirror_files(tmp_path, mirror_dir, bench, name, mutate, message):
    root = _corrupt_mirror(tmp_path, mirror_dir, bench, name, mutate)
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=message) as err:
        prepare_benchmarks([bench], out, root)
    assert name in str(err.value)
    assert not (out / bench).exists() or not any((out / bench).iterdir())


def test_failed_prepare_keeps_previous_split(tmp_path, mirror_dir):
    out = tmp_path / "out"
    prepare_benchmarks(["aime24"], out, mirror_dir)
    before = (out / "aime24" / "test.jsonl").read_bytes()
    root = _corrupt_mirror(tmp_path, mirror_dir, "aime24", "test.txt", lambda b: b[:-100])
    with pytest.raises(UsageError):
        prepare_benchmarks(["aime24"], out, root)
    assert (out / "aime24" / "test.jsonl").read_bytes() == before
    assert [p.name for p in (out / "aime24").iterdir()] == ["test.jsonl"]


def test_atomic_open_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "split.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["split.jsonl"]


def test_failed_download_leaves_nothing(tmp_path, monkeypatch):
    import contextlib

    import httpx

    class Response:
        status_code = 200
        headers = {"content-length": "100"}

        def iter_bytes(self):
            yield b"x" * 10
            raise httpx.ReadError("connection reset")

    monkeypatch.setattr(httpx, "stream", lambda *a, **k: contextlib.nullcontext(Response()))
    with pytest.raises(UsageError, match="download failed.*connection reset"):
        download("https://example.invalid/test.jsonl", tmp_path / "test.jsonl")
    assert not any(tmp_path.iterdir())


def test_parse_extra_args_and_data_dir(monkeypatch):
    assert parse_extra_args(["--split", "main", "--random-seed=3", "--flag"]) == (
        "main", {"random_seed": "3", "flag": "true"})
    with pytest.raises(UsageError):
        parse_extra_args(["main"])
    monkeypatch.delenv("SKILLS_DATA_DIR", raising=False)
    monkeypatch.setenv("NEMO_SKILLS_DATA_DIR", "/data/ns")
    assert default_data_dir() == Path("/data/ns")
    monkeypatch.setenv("SKILLS_DATA_DIR", "/data/skills")
    assert default_data_dir() == Path("/data/skills")
    monkeypatch.delenv("SKILLS_DATA_DIR")
    monkeypatch.delenv("NEMO_SKILLS_DATA_DIR")
    assert default_data_dir() == Path.home() / ".cache" / "skills" / "data"


@pytest.mark.parametrize("bench, name", [("math-500", "test.jsonl"), ("aime24", "test.txt")])
def test_empty_mirror_file_is_an_error_not_an_empty_benchmark(tmp_path, mirror_dir, bench, name):
    root = _corrupt_mirror(tmp_path, mirror_dir, bench, name, lambda b: b"\n")
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=f"{bench}: the source has no entries"):
        prepare_benchmarks([bench], out, root)
    assert not (out / bench).exists() or not any((out / bench).iterdir())
