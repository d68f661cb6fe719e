"""SuperGPQA on a fixture in the upstream schema (``SuperGPQA-all.jsonl`` is not obtainable here):
options cleaned and shuffled exactly as the reference (global ``random.seed`` once per split)."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest

from skills.benchmarks.supergpqa.prepare import prepare
from skills.config.errors import UsageError
from skills.registry.spec import PrepareContext
from tests.helpers.files import read_jsonl


def upstream_rows() -> list:
    rows = []
    for i in range(12):
        n = 4 + i % 7  # 4..10 options
        options = [f"  opt {i}-{j}  " if j % 3 == 0 else f"opt  {i}-{j}" for j in range(n)]
        letter = string.ascii_uppercase[(i * 5) % n]
        rows.append({"uuid": f"u{i}", "question": f"Question {i}?", "options": options,
                     "answer": options[ord(letter) - 65], "answer_letter": letter,
                     "discipline": "Science" if i % 3 else "Law", "field": f"f{i}", "subfield": f"s{i}",
                     "difficulty": "hard" if i % 2 else "easy", "is_calculation": bool(i % 2)})
    return rows


def write_mirror(root: Path, rows: list) -> Path:
    (root / "supergpqa").mkdir(parents=True)
    (root / "supergpqa" / "SuperGPQA-all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def reference_split(rows: list, split: str, seed: int) -> list:
    """The reference's procedure: module-level random seeded once, then shuffle row by row."""
    clean = lambda t: " " if t is None else t.strip().replace("  ", " ")  # noqa: E731
    random.seed(seed)
    out = []
    for r in rows:
        if split == "science" and r["discipline"] != "Science":
            continue
        choices = [clean(o) for o in r["options"]]
        correct = choices[ord(r["answer_letter"]) - 65]
        random.shuffle(choices)
        idx = choices.index(correct)
        options = "\n".join(f"{chr(65 + i)}) {c}" for i, c in enumerate(choices))
        out.append({"expected_answer": chr(65 + idx), "uuid": r["uuid"], "subset_for_metrics": r["discipline"],
                    "discipline": r["discipline"], "field": r["field"], "subfield": r["subfield"],
                    "difficulty": r["difficulty"], "is_calculation": r["is_calculation"],
                    "problem": f"{r['question']}\n\n{options}", "options": options,
                    **{chr(65 + i): c for i, c in enumerate(choices)}})
    return out


@pytest.mark.parametrize("seed", [42, 7])
def test_both_splits_match_the_reference_shuffle(tmp_path, seed):
    rows = upstream_rows()
    mirror = write_mirror(tmp_path / "m", rows)
    extra = {} if seed == 42 else {"random_seed": str(seed)}
    written = prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, extra=extra))
    assert [p.name for p in written] == ["test.jsonl", "science.jsonl"]
    state = random.getstate()
    try:
        for path in written:
            got = read_jsonl(path)
            want = reference_split(rows, path.stem, seed)
            assert got == want and [list(r) for r in got] == [list(r) for r in want]
    finally:
        random.setstate(state)
    test, science = (read_jsonl(p) for p in written)
    assert len(test) == 12 and len(science) == 8
    assert all(r[r["expected_answer"]] == " ".join(r[r["expected_answer"]].split()) for r in test)


def test_bad_input(tmp_path):
    rows = upstream_rows()
    rows[3]["options"][1] = rows[3]["options"][2]
    mirror = write_mirror(tmp_path / "m", rows)
    with pytest.raises(UsageError, match=r"row 4 \(u3\): options are not unique"):
        prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror))
    with pytest.raises(UsageError, match="--random_seed must be an integer"):
        prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, extra={"random_seed": "x"}))
    rows = upstream_rows()
    rows[0]["answer"] = "something else"
    mirror = write_mirror(tmp_path / "m2", rows)
    with pytest.raises(UsageError, match="answer is not option"):
        prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, split="test"))
