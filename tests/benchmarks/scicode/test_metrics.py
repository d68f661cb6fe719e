"""Metric type ``scicode`` on hand-computed result folders (eval-metrics.md section 7)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from skills.cli.app import main

C, E = "completed", "error"


def status(*kinds):
    return [{"process_status": k, "stdout": "", "stderr": ""} for k in kinds]


def write(folder: Path, name: str, rows) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))


def row(pid, statuses, tokens, start):
    return {"problem_id": pid, "generation": {}, "num_generated_tokens": tokens, "generation_start_time": start,
            "generation_end_time": start + 10, "eval_status": statuses}


@pytest.fixture
def results(tmp_path):
    """Two problems, two seeds. Problem 1: 2 then 3 of 3 steps pass; problem 2: 1 then 0 of 2 steps
    (the second file shows it with 3 entries, but num_subtasks counts the first file's)."""
    folder = tmp_path / "eval-results" / "scicode"
    write(folder, "output-rs0.jsonl", [row("1", status(C, C, E), 100, 1000), row("2", status(C, E), 50, 1000)])
    write(folder, "output-rs1.jsonl", [row("1", status(C, C, C), 200, 1005), row("2", status(E, E, E), 150, 1020)])
    return tmp_path / "eval-results"


def summarize(capsys, results: Path, *extra: str):
    assert main(["summarize_results", str(results), "--benchmarks=scicode", *extra]) == 0
    printed = capsys.readouterr().out
    saved = printed.strip().splitlines()[-1].split("Metrics are saved to ", 1)[1]  # metrics-max_seq_len-N.json for a what-if
    return json.loads(Path(saved).read_text())["scicode"], printed


def test_metrics_and_key_order(results, capsys):
    m, printed = summarize(capsys, results)
    assert list(m) == ["pass@1", "pass@2", "pass@1[avg-of-2]"]
    # problem_accuracy is binary (unbiased pass@k); subtask counts are not, except problem 2's
    # (1, 0), which take the binary formula. Sub-steps are reported per num_subtasks (3 + 2).
    assert m["pass@1"] == {"avg_tokens": 125, "gen_seconds": 30, "problem_accuracy": 25.0,
                           "subtask_accuracy": pytest.approx(100 * (2 + 0.5) / 5), "num_problems": 2,
                           "num_subtasks": 5}
    assert m["pass@2"]["problem_accuracy"] == 50.0
    assert m["pass@2"]["subtask_accuracy"] == pytest.approx(100 * (3 + 1) / 5)
    avg = m["pass@1[avg-of-2]"]
    assert list(avg) == ["avg_tokens", "gen_seconds", "problem_accuracy", "subtask_accuracy",
                         "reasoning_tokens_statistics", "answer_tokens_statistics", "problem_accuracy_statistics",
                         "subtask_accuracy_statistics", "num_problems", "num_subtasks"]
    assert avg["problem_accuracy"] == 25.0 and avg["subtask_accuracy"] == pytest.approx(100 * (2.5 + 0.5) / 5)
    s = math.sqrt(0.125)  # sample std of (0, 0.5) and of (0, 1) / 2
    assert avg["problem_accuracy_statistics"] == pytest.approx(
        {"avg": 0.25, "std_dev_across_runs": s, "avg_sample_std_dev": s, "std_err_across_runs": 0.25})
    assert avg["subtask_accuracy_statistics"] == pytest.approx(  # raw counts per problem
        {"avg": 1.5, "std_dev_across_runs": 0.0, "avg_sample_std_dev": math.sqrt(0.5), "std_err_across_runs": 0.0})
    lines = printed.splitlines()
    header = ("evaluation_mode  | avg_tokens | gen_seconds | problem_accuracy | subtask_accuracy | num_problems"
              " | num_subtasks")
    assert lines[1] == header and lines[0] == " scicode ".center(len(header), "-")
    assert lines[2] == ("pass@1[avg-of-2] | 125        | 30          | 25.00% ± 35.36%  | 60.00% ± 0.00%   | 2"
                        "            | 5           ")
    assert lines[3] == ("pass@2           | 125        | 30          | 50.00%           | 80.00%           | 2"
                        "            | 5           ")


def test_max_seq_len_marks_long_generations_wrong(results, capsys):
    m, _ = summarize(capsys, results, "--max_seq_len=120")  # the second run of each problem is too long
    avg = m["pass@1[avg-of-2]"]
    assert avg["problem_accuracy"] == 0.0
    assert avg["subtask_accuracy"] == pytest.approx(100 * (1.0 + 0.5) / 5) and avg["num_subtasks"] == 5


def test_greedy_single_file(tmp_path, capsys):
    folder = tmp_path / "eval-results" / "scicode"
    write(folder, "output.jsonl", [row("1", status(C, C), 10, 0), row("2", status(C, E, E), 10, 0),
                                   row("3", [], 10, 0)])  # no graded step: counts as solved, as upstream
    m, printed = summarize(capsys, tmp_path / "eval-results")
    assert list(m) == ["pass@1"]
    assert m["pass@1"]["problem_accuracy"] == pytest.approx(200 / 3)
    assert m["pass@1"]["subtask_accuracy"] == pytest.approx(100 * 3 / 5) and m["pass@1"]["num_subtasks"] == 5
    assert printed.splitlines()[2] == ("pass@1          | 10         | 10          | 66.67%           | 60.00%"
                                       "           | 3            | 5           ")
