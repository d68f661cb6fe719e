"""Metric semantics on tiny hand-computed cases (eval-metrics.md 2.1-2.7, 3.3, 5)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from skills.metrics.compute import compute_metrics
from skills.metrics.stats import pass_at_k_table, prefix_sample_stds, sample_std, t_critical
from skills.metrics.types import make_scorer


def write_bench(root: Path, name: str, seeds: List[List[Dict[str, Any]]]) -> List[Path]:
    """seeds[i] = rows of output-rs<i>.jsonl; returns the files in the order summarize uses."""
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    for i, rows in enumerate(seeds):
        (d / f"output-rs{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return sorted(d.glob("output-rs*.jsonl"), key=str)


def row(ans: Optional[str], ok: Any, tokens: Optional[int] = 100, **extra: Any) -> Dict[str, Any]:
    r: Dict[str, Any] = {"predicted_answer": ans, "symbolic_correct": ok, **extra}
    if tokens is not None:
        r["num_generated_tokens"] = tokens
    return r


def by_problem(problems: List[List[Dict[str, Any]]]) -> List[List[Dict[str, Any]]]:
    """problems[p][s] -> seeds[s][p]."""
    return [list(col) for col in zip(*problems)]


def run(tmp_path: Path, problems, metric_type: str = "math", name: str = "bench", **kw):
    files = write_bench(tmp_path, name, by_problem(problems))
    return compute_metrics(name, files, make_scorer(metric_type), **kw)


# -- pass@k ------------------------------------------------------------------------------------


def test_pass_at_k_binary_is_unbiased_over_all_seeds(tmp_path):
    m = run(tmp_path, [[row("A", True), row("B", False), row("B", False), row("A", True)]])["bench"]
    assert m["pass@1"]["symbolic_correct"] == pytest.approx(50.0)  # 2 of 4, all files
    assert m["pass@2"]["symbolic_correct"] == pytest.approx(100 * (1 - 1 / 6))  # 1 - C(2,2)/C(4,2)
    assert m["pass@3"]["symbolic_correct"] == pytest.approx(100.0)
    assert m["pass@1[avg-of-2]"]["symbolic_correct"] == pytest.approx(50.0)  # first two files
    assert m["pass@1[avg-of-3]"]["symbolic_correct"] == pytest.approx(100 / 3)
    assert m["pass@1[avg-of-4]"]["symbolic_correct"] == pytest.approx(50.0)
    assert "pass@1[avg-of-1]" not in m


def test_pass_at_k_eight_seeds(tmp_path):
    seeds = [True, False, False, True, False, False, True, False]  # c = 3 of n = 8
    m = run(tmp_path, [[row("A" if s else "B", s) for s in seeds]])["bench"]
    assert m["pass@2"]["symbolic_correct"] == pytest.approx(100 * (1 - 10 / 28))
    assert m["pass@4"]["symbolic_correct"] == pytest.approx(100 * (1 - 5 / 70))
    assert m["pass@5"]["symbolic_correct"] == pytest.approx(100 * (1 - 1 / 56))
    assert m["pass@6"]["symbolic_correct"] == 100.0
    assert m["pass@1[avg-of-8]"]["symbolic_correct"] == pytest.approx(37.5)
    assert m["pass@1[avg-of-4]"]["symbolic_correct"] == pytest.approx(50.0)
    assert m["majority@8"]["symbolic_correct"] == 0.0  # B x5 beats A x3
    assert [k for k in m if k.startswith("majority")] == [f"majority@{k}" for k in range(2, 9)]


def test_pass_at_k_non_binary_uses_first_k(tmp_path):
    m = run(tmp_path, [[row("A", 0.5), row("A", 1), row("A", 0), row("A", 0.25)]])["bench"]
    assert m["pass@1"]["symbolic_correct"] == pytest.approx(50.0)  # first file only
    assert m["pass@2"]["symbolic_correct"] == pytest.approx(100.0)
    assert m["pass@1[avg-of-4]"]["symbolic_correct"] == pytest.approx(43.75)


def test_one_seed_has_only_pass_at_1(tmp_path):
    m = run(tmp_path, [[row("A", True)], [row(None, False)]])["bench"]
    assert list(m) == ["pass@1"]
    assert m["pass@1"] == {"num_entries": 2, "avg_tokens": 100, "symbolic_correct": 50.0, "no_answer": 50.0}


def test_two_seeds_modes_and_order(tmp_path):
    m = run(tmp_path, [[row("A", True), row("B", False)]])["bench"]
    assert list(m) == ["pass@1", "pass@2", "pass@1[avg-of-2]", "majority@2"]
    assert m["majority@2"]["symbolic_correct"] == 50.0  # 1-1 tie of right and wrong


# -- majority ----------------------------------------------------------------------------------


def test_majority_ties_are_averaged(tmp_path):
    m = run(tmp_path, [[row("A", True), row("B", False), row("C", False)]])["bench"]
    assert m["majority@2"]["symbolic_correct"] == pytest.approx(50.0)
    assert m["majority@3"]["symbolic_correct"] == pytest.approx(100 / 3)


def test_majority_excludes_none_and_counts_no_answer(tmp_path):
    m = run(tmp_path, [[row(None, False), row("B", False), row("A", True), row("A", True)]])["bench"]
    assert m["majority@2"]["symbolic_correct"] == 0.0  # only B votes
    assert m["majority@3"]["symbolic_correct"] == 50.0  # A vs B tie
    assert m["majority@4"]["symbolic_correct"] == 100.0
    assert all(m[f"majority@{k}"]["no_answer"] == 0.0 for k in (2, 3, 4))
    m = run(tmp_path / "b", [[row(None, False), row(None, False), row("A", True)]])["bench"]
    assert m["majority@2"] == {"num_entries": 1, "avg_tokens": 100, "symbolic_correct": 0.0, "no_answer": 100.0}
    assert m["majority@3"]["no_answer"] == 0.0


def test_empty_boxed_answer_is_an_answer_and_votes(tmp_path):
    m = run(tmp_path, [[row("", False), row("", False), row("5", True)]])["bench"]
    assert m["pass@1"]["no_answer"] == 0.0
    assert m["majority@3"]["symbolic_correct"] == 0.0  # "" wins 2-1
    assert m["pass@1[avg-of-3]"]["no_answer"] == 0.0


def test_votes_are_raw_strings(tmp_path):
    m = run(tmp_path, [[row("1/2", True), row("\\frac{1}{2}", True), row("3", False), row("3", False)]])["bench"]
    assert m["majority@4"]["symbolic_correct"] == 0.0  # "3" x2 beats two different spellings


# -- no_answer ---------------------------------------------------------------------------------


def test_no_answer_first_file_first_k(tmp_path):
    m = run(tmp_path, [[row(None, False), row("A", True), row(None, False), row("A", True)]])["bench"]
    assert m["pass@1"]["no_answer"] == 100.0  # first file only
    assert m["pass@1"]["symbolic_correct"] == 50.0  # all files
    assert m["pass@2"]["no_answer"] == 0.0
    assert m["pass@1[avg-of-2]"]["no_answer"] == 50.0
    assert m["pass@1[avg-of-3]"]["no_answer"] == pytest.approx(200 / 3)
    assert m["pass@1[avg-of-4]"]["no_answer"] == 50.0


# -- statistics --------------------------------------------------------------------------------


def test_statistics_hand_computed(tmp_path):
    m = run(tmp_path, [[row("A", True, 10), row("B", False, 20)], [row("A", True, 30), row("A", True, 50)]])["bench"]
    mode = m["pass@1[avg-of-2]"]
    assert mode["avg_tokens"] == 27  # int(mean(15, 40))
    s = mode["symbolic_correct_statistics"]
    assert list(s) == ["avg", "std_dev_across_runs", "avg_sample_std_dev", "std_err_across_runs"]
    assert s["avg"] == pytest.approx(0.75)  # raw fractions, not percents
    assert s["std_dev_across_runs"] == pytest.approx(math.sqrt(0.125))  # runs 1.0 and 0.5
    assert s["std_err_across_runs"] == pytest.approx(0.25)
    assert s["avg_sample_std_dev"] == pytest.approx(math.sqrt(0.5) / 2)  # (0.7071 + 0) / 2
    t = mode["answer_tokens_statistics"]  # runs 20, 35
    assert t["avg"] == pytest.approx(27.5)
    assert t["std_dev_across_runs"] == pytest.approx(15 / math.sqrt(2))
    assert t["avg_sample_std_dev"] == pytest.approx((math.sqrt(50) + math.sqrt(200)) / 2)
    assert mode["reasoning_tokens_statistics"] == {
        "avg": 0.0, "std_dev_across_runs": 0.0, "avg_sample_std_dev": 0.0, "std_err_across_runs": 0.0,
    }
    assert list(mode)[-3:] == ["reasoning_tokens_statistics", "answer_tokens_statistics", "symbolic_correct_statistics"]


def test_reasoning_and_answer_token_split(tmp_path):
    a = row("A", True, 100, num_reasoning_tokens=60, num_answer_tokens=40)
    b = row("A", True, 300, num_reasoning_tokens=200, num_answer_tokens=None)
    mode = run(tmp_path, [[a, b]])["bench"]["pass@1[avg-of-2]"]
    assert mode["reasoning_tokens_statistics"]["avg"] == pytest.approx(130.0)
    assert mode["answer_tokens_statistics"]["avg"] == pytest.approx(20.0)  # 40 and 0 (no fallback: reasoning > 0)


# -- subsets, times, max_seq_len ----------------------------------------------------------------


def test_subsets_follow_first_file_in_first_appearance_order(tmp_path):
    problems = [
        [row("A", True, subset_for_metrics="zeta"), row("A", True, subset_for_metrics="other")],
        [row("A", False, subset_for_metrics="alpha"), row("A", False)],
        [row("A", True, subset_for_metrics="zeta"), row("A", False, subset_for_metrics="alpha")],
    ]
    res = run(tmp_path, problems)
    assert list(res) == ["bench", "bench-zeta", "bench-alpha"]
    assert res["bench-zeta"]["pass@1"]["num_entries"] == 2
    assert res["bench-zeta"]["pass@1"]["symbolic_correct"] == 75.0
    assert res["bench-alpha"]["pass@1"]["symbolic_correct"] == 0.0
    assert res["bench"]["pass@1"]["num_entries"] == 3


def test_gen_seconds_is_truncated_span(tmp_path):
    t = dict(generation_start_time=100.5, generation_end_time=130.2)
    u = dict(generation_start_time=90.9, generation_end_time=101.0)
    m = run(tmp_path, [[row("A", True, **t), row("A", True, **u)]])["bench"]
    assert m["pass@1"]["gen_seconds"] == 39  # int(130.2 - 90.9)
    assert list(m["pass@1"])[:3] == ["num_entries", "avg_tokens", "gen_seconds"]


def test_max_seq_len_makes_long_generations_wrong_without_answer(tmp_path):
    problems = [[row("A", True, 9000), row("A", True, 8192), row("A", True, 100)]]
    m = run(tmp_path, problems, max_seq_len=8192)["bench"]
    assert m["pass@1"]["symbolic_correct"] == pytest.approx(200 / 3)
    assert m["pass@1"]["no_answer"] == 100.0  # first file was cut
    assert m["pass@1[avg-of-3]"]["no_answer"] == pytest.approx(100 / 3)
    assert m["pass@1"]["avg_tokens"] == 5764  # tokens are kept: int(17292 / 3)
    assert m["majority@2"]["symbolic_correct"] == 100.0


def test_file_order_is_plain_string_sort(tmp_path):
    seeds = [[row("B", False)] for _ in range(11)]
    seeds[10] = [row("A", True)]  # output-rs10 sorts third: rs0, rs1, rs10, rs2, ...
    files = write_bench(tmp_path, "bench", seeds)
    assert [f.name for f in files[:3]] == ["output-rs0.jsonl", "output-rs1.jsonl", "output-rs10.jsonl"]
    m = compute_metrics("bench", files, make_scorer("math"))["bench"]
    assert m["pass@1[avg-of-3]"]["symbolic_correct"] == pytest.approx(100 / 3)
    assert m["pass@1[avg-of-2]"]["symbolic_correct"] == 0.0


def test_max_samples(tmp_path):
    m = run(tmp_path, [[row("A", True)] * 2, [row("A", False)] * 2], max_samples=1)["bench"]
    assert m["pass@1"]["num_entries"] == 1


# -- reward model ------------------------------------------------------------------------------


def test_rm_best_and_rm_majority(tmp_path):
    preds = [
        row("7", False, reward_model_score=0.9),
        row("5", True, reward_model_score=0.5),
        row("5", True, reward_model_score=0.5),
        row(None, False, reward_model_score=2.0),
    ]
    m = run(tmp_path, [preds])["bench"]
    assert m["rm_best@1"]["symbolic_correct"] == 0.0
    assert m["rm_best@3"]["symbolic_correct"] == 0.0  # 0.9 is the single best reward
    assert m["rm_majority@2"]["symbolic_correct"] == 0.0  # 0.9 > 0.5
    assert m["rm_majority@3"]["symbolic_correct"] == 100.0  # "5" totals 1.0 > 0.9
    assert m["rm_best@4"]["symbolic_correct"] == 0.0  # None answers are ignored
    assert m["rm_best@4"]["no_answer"] == 0.0
    assert list(m)[-2:] == ["rm_best@4", "rm_majority@4"]


def test_rm_modes_without_answers(tmp_path):
    m = run(tmp_path, [[row(None, False, reward_model_score=1.0), row("1", True, reward_model_score=0.1)]])["bench"]
    assert m["rm_best@1"] == {"num_entries": 1, "avg_tokens": 100, "no_answer": 100.0}  # nothing else added
    assert m["rm_best@2"]["symbolic_correct"] == 100.0


# -- judge-based metrics -----------------------------------------------------------------------


def test_hle_judge_columns_and_votes_on_generation(tmp_path):
    def hle(gen: str, sym: bool, verdict: str) -> Dict[str, Any]:
        return {"generation": gen, "predicted_answer": None, "symbolic_correct": sym,
                "judgement": f"Reasoning: ...\nJudgement: {verdict}", "num_generated_tokens": 10}

    problems = [[hle("x", False, "yes"), hle("x", False, "yes"), hle("y", True, "no")]]
    m = run(tmp_path, problems, metric_type="hle")["bench"]
    mode = m["pass@1[avg-of-3]"]
    assert "no_answer" not in mode
    assert mode["judge_correct"] == pytest.approx(200 / 3)
    assert mode["symbolic_correct"] == pytest.approx(100 / 3)
    assert mode["both_correct"] == 0.0
    assert mode["any_correct"] == 100.0
    assert m["majority@3"]["judge_correct"] == 100.0  # identical generations form a majority
    assert [k for k in mode if k.endswith("_statistics")][-4:] == [
        "symbolic_correct_statistics", "judge_correct_statistics", "both_correct_statistics", "any_correct_statistics"]


def test_math_rows_with_judgement_get_judge_correct(tmp_path):
    problems = [[row("1", False, judgement="Judgement: yes"), row("1", False, judgement="Judgement: no")]]
    m = run(tmp_path, problems, metric_type="math")["bench"]
    assert m["pass@1"]["judge_correct"] == 50.0
    assert m["pass@1"]["no_answer"] == 0.0  # counted once, not per score method


def test_max_seq_len_judged_row_becomes_judgement_no(tmp_path):
    problems = [[row("1", True, 50, judgement="Judgement: yes"), row("1", True, 500, judgement="Judgement: yes")]]
    m = run(tmp_path, problems, max_seq_len=100)["bench"]
    assert m["pass@1"]["judge_correct"] == 50.0
    assert m["pass@1"]["any_correct"] == 50.0


# -- numeric helpers ---------------------------------------------------------------------------


def test_pass_at_k_table():
    assert pass_at_k_table(4)[2] == pytest.approx((0.5, 1 - 1 / 6, 1.0, 1.0))
    assert pass_at_k_table(3)[0] == (0.0, 0.0, 0.0)


def test_sample_std_helpers():
    assert sample_std([1.0, 2.0, 3.0, 4.0]) == pytest.approx(1.2909944487358056)
    assert prefix_sample_stds([1, 2, 3, 4]) == pytest.approx([0.7071067811865476, 1.0, 1.2909944487358056])
    assert prefix_sample_stds([0.5, 1.5]) == pytest.approx([0.7071067811865476])


@pytest.mark.parametrize("df, value", [(1, 12.7062), (2, 4.3027), (3, 3.1824), (7, 2.3646), (30, 2.0423)])
def test_t_critical_matches_tables(df, value):
    assert t_critical(df) == pytest.approx(value, abs=1e-4)


def test_problems_with_different_layouts_are_merged(tmp_path):
    def r(a, ok, rw):
        return {"predicted_answer": a, "symbolic_correct": ok, "reward_model_score": rw}

    m = run(tmp_path, [[r(None, False, 1.0), r("1", True, 0.1)], [r("1", True, 0.2), r("2", False, 0.9)]])["bench"]
    assert m["rm_best@1"] == {"num_entries": 2, "no_answer": 50.0, "symbolic_correct": 50.0}
    assert m["rm_best@2"]["symbolic_correct"] == 50.0  # problem 1: only "1" counts; problem 2: reward 0.9 -> wrong
    assert m["rm_majority@2"]["no_answer"] == 0.0
