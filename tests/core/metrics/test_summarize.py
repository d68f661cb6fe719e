"""summarize program: folder discovery, errors (exit 2), table layout, the --show_ci option."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from skills.config.errors import UsageError
from skills.metrics.summarize import find_benchmarks, main, result_files, summarize_results


def rows_file(path: Path, rows: List[Dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def mc(ans, ok, tokens=100):
    return {"predicted_answer": ans, "symbolic_correct": ok, "num_generated_tokens": tokens}


# -- discovery ---------------------------------------------------------------------------------


def test_layouts(tmp_path):
    rows_file(tmp_path / "out" / "eval-results" / "gpqa" / "output.jsonl", [mc("A", True)])
    (tmp_path / "out" / "eval-results" / "gpqa-logs").mkdir()
    root, dirs, _ = find_benchmarks(tmp_path / "out")  # (b) <dir>/eval-results
    assert root == tmp_path / "out" / "eval-results" and [d.name for d in dirs] == ["gpqa"]
    root, dirs, _ = find_benchmarks(tmp_path / "out" / "eval-results")  # (c) sub-folders
    assert [d.name for d in dirs] == ["gpqa"]
    bench = tmp_path / "out" / "eval-results" / "gpqa"
    assert find_benchmarks(bench) == (bench, [bench], {})  # (a) the folder itself


def test_no_results_is_an_error(tmp_path):
    with pytest.raises(UsageError, match="does not contain any valid"):
        find_benchmarks(tmp_path)


def test_unknown_benchmark_filter(tmp_path):
    rows_file(tmp_path / "gpqa" / "output.jsonl", [mc("A", True)])
    with pytest.raises(UsageError, match="gpqx"):
        find_benchmarks(tmp_path, ["gpqx"])


def test_result_files_rules(tmp_path):
    d = tmp_path / "b"
    for name in ["output-rs2.jsonl", "output-rs10.jsonl", "output-rs1.jsonl", "output-rs0_chunk_1.jsonl"]:
        rows_file(d / name, [mc("A", True)])
    assert [p.name for p in result_files(d)] == ["output-rs1.jsonl", "output-rs10.jsonl", "output-rs2.jsonl"]
    rows_file(d / "output.jsonl", [mc("A", True)])
    with pytest.raises(UsageError, match="both output.jsonl"):
        result_files(d)


# -- errors: one line, exit code 2 --------------------------------------------------------------


def test_malformed_line_names_file_and_line(tmp_path, capsys):
    d = tmp_path / "gpqa"
    rows_file(d / "output-rs0.jsonl", [mc("A", True), mc("B", False)])
    (d / "output-rs1.jsonl").write_text(json.dumps(mc("A", True)) + "\n{not json\n")
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "output-rs1.jsonl:2" in err and "malformed" in err
    assert len(err.strip().splitlines()) == 1


def test_unequal_lengths(tmp_path, capsys):
    rows_file(tmp_path / "gpqa" / "output-rs0.jsonl", [mc("A", True), mc("B", False)])
    rows_file(tmp_path / "gpqa" / "output-rs1.jsonl", [mc("A", True)])
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "different numbers of lines" in err and "output-rs0.jsonl: 2" in err and "output-rs1.jsonl: 1" in err


def test_unknown_benchmark_needs_metric_type(tmp_path, capsys):
    rows_file(tmp_path / "my-bench" / "output.jsonl", [mc("A", True)])
    assert main([str(tmp_path)]) == 2
    assert "--metric_type" in capsys.readouterr().err
    assert main([str(tmp_path), "--metric_type", "math"]) == 0


def test_unknown_benchmark_beside_known_ones_is_skipped(tmp_path, capsys):
    rows_file(tmp_path / "my-bench" / "output.jsonl", [mc("A", True)])
    rows_file(tmp_path / "gpqa" / "output.jsonl", [mc("A", True)])
    assert main([str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "skipping my-bench" in captured.err and " gpqa " in captured.out and "my-bench" not in captured.out
    assert main([str(tmp_path), "--benchmarks", "my-bench,gpqa"]) == 2  # asked for by name: an error


def test_not_yet_supported_type_beside_known_ones_is_skipped(tmp_path, capsys):
    rows_file(tmp_path / "minif2f" / "output.jsonl", [{"x": 1}])
    rows_file(tmp_path / "gpqa" / "output.jsonl", [mc("A", True)])
    assert main([str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "skipping minif2f" in captured.err and "not supported yet" in captured.err and " gpqa " in captured.out


def test_not_yet_supported_type(tmp_path, capsys):
    rows_file(tmp_path / "minif2f" / "output.jsonl", [{"x": 1}])
    assert main([str(tmp_path)]) == 2
    assert "not supported yet" in capsys.readouterr().err


def test_missing_field_is_a_usage_error(tmp_path):
    rows_file(tmp_path / "gpqa" / "output-rs0.jsonl", [mc("A", True)])
    rows_file(tmp_path / "gpqa" / "output-rs1.jsonl", [{"symbolic_correct": True}])
    with pytest.raises(UsageError, match=r"output-rs1\.jsonl line 1: a row lacks the field 'predicted_answer'"):
        summarize_results(str(tmp_path))


def test_wrong_value_type_names_the_file(tmp_path):
    rows_file(tmp_path / "gpqa" / "output-rs0.jsonl", [mc("A", True)])
    rows_file(tmp_path / "gpqa" / "output-rs1.jsonl", [{**mc("A", True), "symbolic_correct": "yes"}])
    with pytest.raises(UsageError, match=r"output-rs1\.jsonl line 1: a value has an unexpected type"):
        summarize_results(str(tmp_path))


# -- tables ------------------------------------------------------------------------------------


def test_greedy_table_and_metrics_path(tmp_path, capsys):
    rows_file(tmp_path / "eval-results" / "math-500" / "output.jsonl", [mc("1", True, 10), mc(None, False, 21)])
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    header = "evaluation_mode | num_entries | avg_tokens | symbolic_correct | no_answer"
    expected = [
        " math-500 ".center(len(header), "-"),
        header,
        "pass@1          | 2           | 15         | 50.00%           | 50.00%   ",
        "",
        "",
        f"Metrics are saved to {tmp_path / 'eval-results' / 'metrics.json'}",
        "",
    ]
    assert out.split("\n") == expected
    assert json.loads((tmp_path / "eval-results" / "metrics.json").read_text())["math-500"]["pass@1"]["avg_tokens"] == 15


def test_hle_table_has_judge_column_and_no_no_answer(tmp_path):
    def r(ok, verdict):
        return {"generation": "g", "predicted_answer": None, "symbolic_correct": ok, "judgement": f"Judgement: {verdict}"}

    rows_file(tmp_path / "hle" / "output-rs0.jsonl", [r(False, "yes")])
    rows_file(tmp_path / "hle" / "output-rs1.jsonl", [r(False, "no")])
    text, _ = summarize_results(str(tmp_path))
    lines = text.split("\n")
    assert lines[1] == "evaluation_mode  | num_entries | judge_correct   | symbolic_correct"
    assert lines[2] == "pass@1[avg-of-2] | 1           | 50.00% ± 70.71% | 0.00% ± 0.00%   "


def _ci_data(tmp_path: Path) -> Path:
    # 4 problems x 3 seeds; per-seed accuracy 0.5, 0.75, 0.5
    right = [[True, True, False, False], [True, True, True, False], [True, True, False, False]]
    for s, oks in enumerate(right):
        rows_file(tmp_path / "gpqa" / f"output-rs{s}.jsonl", [mc("A" if ok else "B", ok) for ok in oks])
    return tmp_path


def test_show_ci_adds_interval_to_table_and_json(tmp_path, capsys):
    _ci_data(tmp_path)
    assert main([str(tmp_path), "--show_ci"]) == 0
    out = capsys.readouterr().out
    # mean 0.58333, std 0.144338, t(2)=4.302653 -> half width 0.358554
    assert "58.33% ± 14.43% [22.48%, 94.19%]" in out
    mode = json.loads((tmp_path / "metrics.json").read_text())["gpqa"]["pass@1[avg-of-3]"]
    assert mode["symbolic_correct_ci95"]["low"] == pytest.approx(22.4779, abs=1e-3)
    assert mode["symbolic_correct_ci95"]["high"] == pytest.approx(94.1887, abs=1e-3)
    assert "answer_tokens_ci95" not in mode
    two = json.loads((tmp_path / "metrics.json").read_text())["gpqa"]["pass@1[avg-of-2]"]["symbolic_correct_ci95"]
    assert two == {"low": 0.0, "high": 100.0}  # clipped to the possible range


def test_default_output_has_no_ci(tmp_path, capsys):
    _ci_data(tmp_path)
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "pass@1[avg-of-3] | 4           | 100        | 58.33% ± 14.43%  | 0.00%    " in out
    assert "[" not in out.split("\n")[2].split("|", 1)[1]
    metrics = json.loads((tmp_path / "metrics.json").read_text())["gpqa"]
    assert not any(k.endswith("_ci95") for mode in metrics.values() for k in mode)


def test_max_seq_len_banner_uses_first_table_width(tmp_path, capsys):
    _ci_data(tmp_path)
    assert main([str(tmp_path), "--max_seq_len", "50"]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert lines[0] == " Metrics for Max Sequence Length 50 ".center(len(lines[1]), "-")
    assert lines[3].endswith("| 0.00% ± 0.00%    | 100.00%  ")  # all cut: nothing right, no answers


def test_dot_groups_are_averaged_first(tmp_path):
    rows_file(tmp_path / "ruler.x.a" / "output.jsonl", [mc("1", True, 10)])
    rows_file(tmp_path / "ruler.x.b" / "output.jsonl", [mc("1", False, 21)])
    summarize_results(str(tmp_path), metric_type="math")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert list(metrics) == ["ruler.x", "ruler.x.a", "ruler.x.b"]
    assert metrics["ruler.x"]["pass@1"] == {
        "num_benchmarks_in_group": 2, "avg_tokens": 15, "symbolic_correct": 50.0, "no_answer": 0.0,
    }


# -- what-if summaries and the "±" legend ---------------------------------------------------------


def _two_seeds(root: Path) -> Path:
    for s in (0, 1):
        rows_file(root / "eval-results" / "gpqa" / f"output-rs{s}.jsonl",
                  [mc("A", True, 100), mc("B", s == 0, 5000), mc("C", False, 100)])
    return root / "eval-results"


def test_what_if_summaries_write_beside_metrics_json(tmp_path, capsys):
    results = _two_seeds(tmp_path)
    assert main([str(results)]) == 0
    real = (results / "metrics.json").read_text()
    assert main([str(results), "--max_seq_len=1000"]) == 0  # seed 0's long right answer now counts as wrong
    out = capsys.readouterr().out
    assert out.rstrip().endswith(f"Metrics are saved to {results / 'metrics-max_seq_len-1000.json'}")
    assert (results / "metrics.json").read_text() == real  # the run's own numbers are untouched
    what_if = json.loads((results / "metrics-max_seq_len-1000.json").read_text())
    assert what_if["gpqa"]["pass@2"]["symbolic_correct"] < json.loads(real)["gpqa"]["pass@2"]["symbolic_correct"]
    assert main([str(results), "--max_samples=2"]) == 0
    assert (results / "metrics-max_samples-2.json").exists()
    assert main([str(results), "--max_seq_len=1000", "--save_metrics_path", str(results / "metrics.json")]) == 0
    assert (results / "metrics.json").read_text() != real  # asked for: written where told


def test_tables_say_what_plus_minus_means(tmp_path, capsys):
    results = _two_seeds(tmp_path)
    text, _ = summarize_results(str(results))
    assert " ± " in text and text.rstrip().splitlines()[-1] == (
        "± = standard deviation of the score across seeds (each seed's score over all problems, ddof=1): how much "
        "one run varies, not the uncertainty of the average")
    text, _ = summarize_results(str(results), show_ci=True)
    assert text.rstrip().endswith("; [low, high] = 95% t interval of the average over seeds")
    greedy = tmp_path / "greedy"
    rows_file(greedy / "gpqa" / "output.jsonl", [mc("A", True)])
    text, _ = summarize_results(str(greedy))
    assert "±" not in text  # no spread, no legend
