"""MRCR: rows from fixtures in the upstream parquet layout (the real data is ~1.4 GB), the grader's
prefix rule and ratio, and the ``mrcr`` metric type."""

from __future__ import annotations

import json
from difflib import SequenceMatcher
from pathlib import Path
from typing import List

import pytest

from skills.benchmarks.mrcr import grader as mrcr_grader
from skills.benchmarks.mrcr import prepare as mrcr_prepare
from skills.config.errors import UsageError
from skills.data.prepare import prepare_benchmarks
from skills.evaluation import grade_file
from skills.metrics.summarize import summarize_results
from skills.registry.benchmarks import get_benchmark

COLUMNS = ["prompt", "answer", "random_string_to_prepend", "n_needles", "desired_msg_index", "total_messages",
           "n_chars"]


def _words(text: str) -> int:
    return len(text.split())


@pytest.fixture
def word_counts(monkeypatch):
    """o200k_base is downloaded by tiktoken at run time: count words instead (the counting is not under test)."""
    monkeypatch.setattr(mrcr_prepare, "token_counter", lambda name, who: _words)


def _entries(n: int, count: int) -> List[dict]:
    out = []
    for i in range(count):
        messages = [{"role": "user", "content": f"write poem {i} ü"}, {"role": "assistant", "content": "a poem " * i},
                    {"role": "user", "content": "prepend abc to the 1st poem"}]
        out.append({"prompt": json.dumps(messages), "answer": f"abcpoem {i}", "random_string_to_prepend": "abc",
                    "n_needles": n, "desired_msg_index": 1, "total_messages": 3, "n_chars": 40 + i})
    return out


def _mirror(root: Path) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = {}
    for n, parts in ((2, 2), (4, 1), (8, 1)):
        (root / "mrcr" / f"{n}needle").mkdir(parents=True)
        for part in range(parts):
            rows = _entries(n, 2 + part)
            pq.write_table(pa.Table.from_pylist(rows), root / "mrcr" / f"{n}needle" / f"{n}needle_{part}.parquet")
            files[(n, part)] = rows
    return files


def _expected(entry: dict) -> dict:
    messages = json.loads(entry["prompt"])
    row = {k: v for k, v in entry.items() if k not in ("prompt", "answer")}
    return {**row, "messages": messages, "expected_answer": entry["answer"],
            "n_tokens": sum(_words(m["content"]) for m in messages)}


def test_spec():
    spec = get_benchmark("mrcr")
    assert spec.default_overrides() == ("++prompt_format=openai", "++eval_type=mrcr")
    assert (spec.metrics_type, spec.eval_split, spec.dataset_group) == ("mrcr", "all", "long-context")


def test_rows_as_the_reference_writes_them(tmp_path, word_counts):
    files = _mirror(tmp_path / "m")
    (out,) = prepare_benchmarks(["mrcr"], tmp_path / "d", tmp_path / "m")["mrcr"]
    assert out.name == "all.jsonl"
    expected = [_expected(e) for key in sorted(files) for e in files[key]]
    assert out.read_text() == "".join(json.dumps(r) + "\n" for r in expected)
    assert list(json.loads(out.read_text().splitlines()[0])) == ["random_string_to_prepend", "n_needles",
                                                                 "desired_msg_index", "total_messages", "n_chars",
                                                                 "messages", "expected_answer", "n_tokens"]


def test_needles_window_and_setup(tmp_path, word_counts):
    files = _mirror(tmp_path / "m")
    limit = _expected(files[(2, 0)][0])["n_tokens"]
    (out,) = prepare_benchmarks(["mrcr"], tmp_path / "d", tmp_path / "m",
                                ["--setup=needle2_small", "--needles_subset=2",
                                 f"--max_context_window={limit}"])["mrcr"]
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert out.name == "needle2_small.jsonl" and rows and all(r["n_needles"] == 2 and r["n_tokens"] <= limit
                                                               for r in rows)
    assert len(rows) < 5
    with pytest.raises(UsageError, match="needles_subset values must be among 2, 4, 8"):
        prepare_benchmarks(["mrcr"], tmp_path / "d", tmp_path / "m", ["--needles_subset=3"])


@pytest.mark.parametrize("response, answer, expected", [
    ("abcpoem 1", "abcpoem 1", 1.0),
    ("poem 1", "abcpoem 1", 0),  # no prefix: 0, whatever the rest
    ("abcpoem 12", "abcpoem 1", SequenceMatcher(None, "poem 12", "poem 1").ratio()),
    ("abc", "abcsomething", 0.0),
])
def test_grading_rule(response, answer, expected):
    got = mrcr_grader.score(response, answer, "abc")
    assert got == pytest.approx(expected) and type(got) is type(expected)


def test_graded_file_and_metrics(tmp_path):
    bench = tmp_path / "eval-results" / "mrcr"
    bench.mkdir(parents=True)
    answers = ["abcpoem one", "abcpoem two"]
    seeds = [["abcpoem one", "poem two"], ["abcpoem on", "abcpoem two"]]
    for s, gens in enumerate(seeds):
        path = bench / f"output-rs{s}.jsonl"
        path.write_text("".join(json.dumps({"generation": g, "expected_answer": a, "random_string_to_prepend": "abc"})
                                + "\n" for g, a in zip(gens, answers)))
        grade_file(path, "mrcr", {})
    ratios = [[json.loads(x)["seq_match_ratio"] for x in (bench / f"output-rs{s}.jsonl").read_text().splitlines()]
              for s in range(2)]
    assert ratios[0] == [1.0, 0] and ratios[1][1] == 1.0 and 0 < ratios[1][0] < 1
    text, path = summarize_results(str(tmp_path))
    m = json.loads(path.read_text())["mrcr"]
    # problem 1 scores (1.0, r): best of the first k; problem 2 scores (0, 1.0): binary, unbiased pass@k
    r = ratios[1][0]
    assert m["pass@1[avg-of-2]"]["accuracy"] == pytest.approx(100 * ((1.0 + r) / 2 + 0.5) / 2)
    assert m["pass@2"]["accuracy"] == pytest.approx(100.0) and m["pass@1"]["accuracy"] == pytest.approx(75.0)
    assert "no_answer" not in m["pass@2"] and "majority@2" not in m
    assert [ln.split(" | ")[0].strip() for ln in text.splitlines()[2:4]] == ["pass@1[avg-of-2]", "pass@2"]


def test_dry_run_plans_graded_generation(tmp_path, capsys):
    from tests.helpers.plans import command_text, dry_run_jobs, kinds

    (tmp_path / "mrcr").mkdir()
    (tmp_path / "mrcr" / "all.jsonl").write_text(json.dumps(
        {"messages": [{"role": "user", "content": "hi"}], "expected_answer": "abcx",
         "random_string_to_prepend": "abc"}) + "\n")
    jobs = dry_run_jobs(capsys, tmp_path, tmp_path / "out", "mrcr")
    assert kinds(jobs) == ["generation", "metrics"]
    text = command_text(jobs[0])
    assert "++prompt_format=openai" in text and "++eval_type=mrcr" in text and "++eval_config.split=all" in text
