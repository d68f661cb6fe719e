"""The ``if`` grader's wiring, runnable without the official checker: ``grade_file`` in the grader
environment grades three real IFEval prompts with hand-made responses, writes ``loose_eval`` then
``strict_eval`` on each row, and ``summarize_results`` turns the rows into the ``if`` table.

The code is ``ifeval_any_code``: google-research's checker when staged, else our stand-in
(tests/fixtures/ifeval-standin, not the official checker). The responses are clear-cut, so both give
the verdicts written here; whether ours equal the official ones on every instruction type is
test_checker.py's job (real code only).
"""

from __future__ import annotations

import json

import pytest

from skills.benchmarks.ifeval import prepare as ifp
from skills.evaluation import grade_file
from skills.metrics.summarize import summarize_results

BODY = " ".join(f"*Part {n}*\n" + "word " * 110 for n in ("one", "two", "three"))
RESPONSES = {  # key -> (response, strict verdicts, loose verdicts)
    # no_comma, 3 highlighted sections, at least 300 words: the comma is on a first line that loose drops
    1000: ("Sure, here it is:\n" + BODY, [False, True, True], [True, True, True]),
    1001: ("Day one in Tokyo, day two in Kyoto.", [False], [False]),  # no_comma
    1005: (" ".join(f"[field {i}]" for i in range(12)), [True], [True]),  # at least 12 placeholders
}


@pytest.fixture
def graded(ifeval_python, ifeval_any_code, nltk_dir, mirror_dir, tmp_path):
    data = {r["key"]: r for r in ifp.format_rows(mirror_dir / "ifeval" / "input_data.jsonl")}
    folder = tmp_path / "eval-results" / "ifeval"
    folder.mkdir(parents=True)
    path = folder / "output.jsonl"
    rows = [{**data[key], "response": text, "num_generated_tokens": 10} for key, (text, _, _) in RESPONSES.items()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    counts = grade_file(path, "if", {"code_dir": str(ifeval_any_code), "nltk_data": str(nltk_dir)},
                        generation_key="response")
    assert counts["entries"] == 3
    return tmp_path, [json.loads(line) for line in path.read_text().splitlines()]


def test_rows_get_strict_and_loose_results(graded):
    _, rows = graded
    assert [r["key"] for r in rows] == list(RESPONSES)
    for row in rows:
        text, strict, loose = RESPONSES[row["key"]]
        assert list(row)[-2:] == ["loose_eval", "strict_eval"]
        for mode, verdicts in (("strict_eval", strict), ("loose_eval", loose)):
            assert row[mode] == {"follow_all_instructions": all(verdicts), "follow_instruction_list": verdicts,
                                 "instruction_id_list": row["instruction_id_list"], "prompt": row["prompt"],
                                 "response": text}, (row["key"], mode)


def test_if_table_from_the_graded_rows(graded):
    root, _ = graded
    text, path = summarize_results(str(root / "eval-results"))
    assert ("evaluation_mode | num_prompts | num_instructions | average_score | prompt_strict_accuracy | "
            "instruction_strict_accuracy | prompt_loose_accuracy | instruction_loose_accuracy | num_entries | "
            "avg_tokens") in " ".join(text.split())
    got = json.loads(path.read_text())["ifeval"]["pass@1"]
    expected = {"prompt_strict_accuracy": 100 / 3, "instruction_strict_accuracy": 100 * 3 / 5,
                "prompt_loose_accuracy": 200 / 3, "instruction_loose_accuracy": 100 * 4 / 5}
    assert (got["num_prompts"], got["num_instructions"], got["num_entries"]) == (3, 5, 3)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value), name
    assert got["average_score"] == pytest.approx(sum(expected.values()) / 4)
