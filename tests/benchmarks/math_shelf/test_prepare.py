"""``ns prepare_data`` for the math shelf: from the upstream mirror (the 13 staged benchmarks) and from
small fixtures in the upstream schema (brumo25, beyond-aime, hendrycks_math, gsm-plus), each file
compared byte for byte with what the reference's rules (tests/benchmarks/math_shelf/rules.py) give."""

from __future__ import annotations

import json
from hashlib import sha256

import pytest

from skills.benchmarks.gsm8k.prepare import FIXES
from skills.cli.app import main
from skills.config.errors import UsageError
from skills.data.prepare import prepare_benchmarks
from tests.benchmarks.math_shelf import rules
from tests.helpers.paths import FIXTURES

FIXTURE_MIRROR = FIXTURES / "math_shelf"
# name -> (rows per split in the staged upstream files), a check that the whole set is there
STAGED = {
    "gsm8k": {"test": 1319, "train": 7473}, "amc23": {"test": 40}, "hmmt_feb25": {"test": 30},
    "algebra222": {"test": 222}, "asdiv": {"test": 2305}, "college_math": {"test": 2818},
    "comp-math-24-25": {"test": 256}, "gaokao2023en": {"test": 385}, "math-odyssey": {"test": 387},
    "mawps": {"test": 2065}, "minerva_math": {"test": 272}, "olympiadbench": {"test": 675}, "svamp": {"test": 1000},
}
FROM_FIXTURES = {"brumo25": {"test": 3}, "beyond-aime": {"test": 2}, "hendrycks_math": {"test": 2, "train": 1}}


@pytest.fixture(scope="module")
def staged(mirror_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("math-shelf")
    assert main(["prepare_data", *STAGED, f"--data_dir={out}", f"--mirror={mirror_dir}", "--no-prompts"]) == 0
    return out


@pytest.mark.parametrize("bench", sorted(STAGED))
def test_staged_rows_are_the_references(staged, mirror_dir, bench):
    expected = rules.expected_files(bench, mirror_dir)
    assert {s: len(rows) for s, rows in expected.items()} == STAGED[bench]
    assert sorted(p.name for p in (staged / bench).iterdir()) == sorted(f"{s}.jsonl" for s in expected)
    for split, rows in expected.items():
        if bench == "gsm8k":  # the eleven corrected answers (checked on their own in test_gsm8k_answer_fixes)
            rows = [{**r, "expected_answer": FIXES.get(sha256(r["problem"].encode()).hexdigest(), r["expected_answer"])}
                    for r in rows]
        assert (staged / bench / f"{split}.jsonl").read_bytes() == rules.dump(rows), f"{bench}/{split}"


@pytest.mark.parametrize("bench", sorted(FROM_FIXTURES))
def test_fixture_rows_are_the_references(tmp_path, bench):
    written = prepare_benchmarks([bench], tmp_path, FIXTURE_MIRROR)[bench]
    expected = rules.expected_files(bench, FIXTURE_MIRROR)
    assert {s: len(rows) for s, rows in expected.items()} == FROM_FIXTURES[bench]
    assert sorted(p.name for p in written) == sorted(f"{s}.jsonl" for s in expected)
    for split, rows in expected.items():
        assert (tmp_path / bench / f"{split}.jsonl").read_bytes() == rules.dump(rows)


def test_known_values(staged):
    """A few answers checked by hand against the upstream files, anchoring the rules themselves."""
    first = lambda bench, split="test": rules.jsonl(staged / bench / f"{split}.jsonl")[0]  # noqa: E731
    assert first("gsm8k")["expected_answer"] == 18 and "<<" not in first("gsm8k")["reference_solution"]
    assert list(first("gaokao2023en"))[-2:] == ["expected_answer", "problem"]
    assert "final_answer" not in first("olympiadbench")
    assert isinstance(first("asdiv")["expected_answer"], str)  # the reference's int() never applies
    assert first("mawps")["type"] == "addsub" and first("svamp")["problem"].endswith("?")
    assert list(first("hmmt_feb25")) == ["problem_idx", "problem", "problem_type", "expected_answer"]
    assert all(r["expected_answer"] is not None for r in rules.jsonl(staged / "minerva_math" / "test.jsonl"))


def test_gsm8k_answer_fixes(staged, mirror_dir):
    """The reference corrects eleven training answers; nothing else differs from the plain rule."""
    for split, fixed in (("test", {}), ("train", {10750, 10, 2740, 15, 19200, 64, 108, 531000, 6, 13, "07:30"})):
        plain = [rules.gsm8k(r) for r in rules.jsonl(mirror_dir / "gsm8k" / f"{split}.jsonl")]
        ours = rules.jsonl(staged / "gsm8k" / f"{split}.jsonl")
        changed = [o["expected_answer"] for p, o in zip(plain, ours) if p != o]
        assert len(changed) == len(fixed) and set(changed) == set(fixed)
        assert all(p["expected_answer"] != o["expected_answer"] for p, o in zip(plain, ours) if p != o)


@pytest.mark.parametrize("flags, categories, keep, rounded_file", [
    ([], None, None, True),
    (["--no_rounding_instructions"], None, None, False),
    (["--cleaning=light"], None, "light", True),
    (["--cleaning", "hard", "--categories=critical_thinking,integer-decimal-fraction_conversion"],
     {"critical_thinking", "integer-decimal-fraction_conversion"}, "hard", True),
])
def test_gsm_plus(tmp_path, flags, categories, keep, rounded_file):
    written = prepare_benchmarks(["gsm-plus"], tmp_path, FIXTURE_MIRROR, flags)["gsm-plus"]
    raw = rules.jsonl(FIXTURE_MIRROR / "gsm-plus" / "data" / "test-00000-of-00001.jsonl")
    kept = set(json.loads((FIXTURE_MIRROR / "gsm-plus" / "cleaned_indexes.json").read_text())[keep]) if keep else None
    rows = [rules.gsm_plus(r) for i, r in enumerate(raw)
            if (categories is None or r["perturbation_type"].replace(" ", "_") in categories)
            and (kept is None or i in kept)]
    assert rows and (tmp_path / "gsm-plus" / "test.jsonl").read_bytes() == rules.dump(rows)
    assert [p.name for p in written] == ["test.jsonl", "test_rounded.jsonl"][: 1 + rounded_file]
    if rounded_file:
        assert (tmp_path / "gsm-plus" / "test_rounded.jsonl").read_bytes() == rules.dump([rules.rounded(r) for r in rows])
    if not flags:  # the fixture covers each answer shape
        assert [r["expected_answer"] for r in rows] == [5, "insufficient", 7.75, -7, 1.5, "3/4", 7]


@pytest.mark.parametrize("bench, args, message", [
    ("gsm8k", ["--split=dev"], "unknown split 'dev'"),
    ("hendrycks_math", ["--split=validation"], "unknown split"),
    ("gsm-plus", ["--cleaning=medium"], "--cleaning must be none, light or hard"),
    ("gsm-plus", ["--categorie=x"], "unknown prepare_data option --categorie"),
    ("svamp", ["--seed=1"], "unknown prepare_data option --seed"),
])
def test_bad_options(tmp_path, bench, args, message):
    with pytest.raises(UsageError, match=message):
        prepare_benchmarks([bench], tmp_path, FIXTURE_MIRROR, args)


def test_one_split(tmp_path, mirror_dir):
    written = prepare_benchmarks(["gsm8k"], tmp_path, mirror_dir, ["--split=test"])["gsm8k"]
    assert [p.name for p in written] == ["test.jsonl"] and not (tmp_path / "gsm8k" / "train.jsonl").exists()


def test_wrong_upstream_file_is_one_line(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "gsm8k").mkdir(parents=True)
    (mirror / "gsm8k" / "test.jsonl").write_text('{"question": "q", "answer": "no marker"}\n')
    with pytest.raises(UsageError, match=r"test.jsonl:1: expected 'question' and an 'answer' with one '#### <number>'"):
        prepare_benchmarks(["gsm8k"], tmp_path / "out", mirror, ["--split=test"])
    (mirror / "svamp").mkdir()
    (mirror / "svamp" / "SVAMP.json").write_text('[{"Body": "x"}]')
    with pytest.raises(UsageError, match="not the SVAMP JSON array"):
        prepare_benchmarks(["svamp"], tmp_path / "out", mirror)
