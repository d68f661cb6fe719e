"""ns compare: paired statistics on hand-made result folders with known answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.core.report.helpers import write_run
from tests.helpers.files import read_jsonl
from skills.config.errors import UsageError
from skills.report.compare import compare_all, compare_dirs, main
from skills.report.stats import (clopper_pearson, mcnemar, mcnemar_exact, mcnemar_interval, paired_bootstrap,
                                 wilson_interval)

N = 200


def _by_name(res):
    return {c.name: c for c in res.comparisons}


# --------------------------------------------------------------------------- statistics alone

def test_mcnemar_exact_matches_hand_computation():
    # m = 13 discordant, min = 3: 2 * (C(13,0) + C(13,1) + C(13,2) + C(13,3)) / 2^13 = 2 * 378 / 8192
    assert mcnemar_exact(3, 10) == pytest.approx(2 * 378 / 8192, abs=1e-15)
    assert mcnemar_exact(10, 3) == mcnemar_exact(3, 10)
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024, abs=1e-15)  # 0.0215: significant
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)  # 0.0625: five wins out of five is not enough
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert mcnemar_exact(4, 4) == 1.0
    assert mcnemar_exact(0, 0) == 1.0


def test_clopper_pearson_known_values():
    lo, hi = clopper_pearson(9, 10)  # textbook interval for 9/10: [0.5550, 0.9975]
    assert lo == pytest.approx(0.55498, abs=1e-4) and hi == pytest.approx(0.99747, abs=1e-4)
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(0, 10)[1] == pytest.approx(0.30850, abs=1e-4)
    # McNemar's interval agrees with its test: 1 vs 9 is significant, 0 vs 5 is not
    assert mcnemar_interval(1, 9, 50)[0] > 0
    lo5, hi5 = mcnemar_interval(0, 5, 50)
    assert lo5 < 0 < hi5


def test_bootstrap_matches_normal_theory_and_is_seeded():
    diffs = [1.0] * 50 + [0.0] * 150  # mean 0.25, sd sqrt(0.25 * 0.75), se = sd / sqrt(200)
    res = paired_bootstrap(diffs, resamples=20_000, seed=1)
    se = math.sqrt(0.25 * 0.75 / 200)
    assert res.diff == pytest.approx(0.25)
    assert res.low == pytest.approx(0.25 - 1.96 * se, abs=0.01)
    assert res.high == pytest.approx(0.25 + 1.96 * se, abs=0.01)
    assert res.significant and res.p_value < 0.001
    assert paired_bootstrap(diffs, resamples=2000, seed=3) == paired_bootstrap(diffs, resamples=2000, seed=3)
    null = paired_bootstrap([1.0, -1.0] * 100 + [0.0] * 50, seed=0)
    assert null.low < 0 < null.high and not null.significant and null.p_value > 0.5


def test_bootstrap_equals_plain_index_resampling():
    """The multinomial shortcut has the distribution of resampling problem indices."""
    import numpy as np
    diffs = [0.5] * 30 + [-0.25] * 50 + [0.0] * 100 + [1.0] * 20
    fast = paired_bootstrap(diffs, resamples=20_000, seed=5)
    rng = np.random.default_rng(7)
    arr = np.asarray(diffs)
    means = arr[rng.integers(0, len(arr), size=(20_000, len(arr)))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    assert fast.low == pytest.approx(lo, abs=0.01) and fast.high == pytest.approx(hi, abs=0.01)


def test_wilson_interval():
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0


# --------------------------------------------------------------------------- folders

def test_known_difference_multi_seed(tmp_path):
    """A: 50% (problems i % 2 == 0), B: 75% (all but i % 4 == 3); true difference +25 points."""
    a = write_run(tmp_path / "a", "gpqa", N, 4, lambda i, s: i % 2 == 0)
    b = write_run(tmp_path / "b", "gpqa", N, 4, lambda i, s: i % 4 != 3)
    res = compare_dirs(str(a), str(b))
    whole = _by_name(res)["gpqa"]
    r = whole.result
    assert (whole.a, whole.b) == (0.5, 0.75) and r.diff == pytest.approx(0.25)
    assert r.test == "paired bootstrap" and r.significant and whole.verdict == "B better"
    assert r.low < 0.25 < r.high and r.low > 0.15 and r.high < 0.35
    assert whole.flips.a_only == [] and whole.flips.b_only == [i for i in range(N) if i % 4 == 1]
    # subsets: even problems are right in both (no difference), odd ones gain 50 points
    even, odd = _by_name(res)["gpqa-even"], _by_name(res)["gpqa-odd"]
    assert even.problems == odd.problems == N // 2
    assert even.result.diff == 0 and not even.result.significant and even.verdict == "not significant"
    assert odd.result.diff == pytest.approx(0.5) and odd.result.significant


def test_seeds_are_averaged_per_problem(tmp_path):
    """Each problem: 2 of 4 seeds right in A, 3 of 4 in B -> every problem gains exactly 0.25."""
    a = write_run(tmp_path / "a", "gpqa", N, 4, lambda i, s: (i + s) % 4 < 2)
    b = write_run(tmp_path / "b", "gpqa", N, 4, lambda i, s: (i + s) % 4 < 3)
    r = _by_name(compare_dirs(str(a), str(b)))["gpqa"].result
    assert r.diff == pytest.approx(0.25) and r.low == pytest.approx(0.25) and r.high == pytest.approx(0.25)


def test_null_difference_is_not_significant(tmp_path):
    """Same accuracy (50%), but on complementary problems: difference 0, wide interval."""
    a = write_run(tmp_path / "a", "gpqa", N, 4, lambda i, s: i % 2 == 0)
    b = write_run(tmp_path / "b", "gpqa", N, 4, lambda i, s: i % 2 == 1)
    whole = _by_name(compare_dirs(str(a), str(b)))["gpqa"]
    r = whole.result
    assert r.diff == 0 and r.low < -0.1 and r.high > 0.1 and not r.significant
    assert whole.verdict == "not significant" and r.p_value > 0.9
    assert len(whole.flips.a_only) == len(whole.flips.b_only) == N // 2


def test_single_seed_uses_exact_mcnemar(tmp_path):
    """Greedy runs, 50 problems: A alone right on #7, B alone right on #0..#9 except #7 (b=1, c=9)."""
    b_only = set(range(10)) - {7}
    a_right = lambda i, s: i == 7 or i >= 30  # noqa: E731
    b_right = lambda i, s: i in b_only or i >= 30  # noqa: E731
    a = write_run(tmp_path / "a", "math-500", 50, 0, a_right)
    b = write_run(tmp_path / "b", "math-500", 50, 0, b_right)
    whole = _by_name(compare_dirs(str(a), str(b)))["math-500"]
    r = whole.result
    assert r.test == "McNemar exact" and whole.seeds == (1, 1)
    assert r.p_value == pytest.approx(2 * 11 / 1024) and r.significant
    assert r.diff == pytest.approx((9 - 1) / 50)
    lo, hi = mcnemar_interval(1, 9, 50)
    assert (r.low, r.high) == (lo, hi) and lo == pytest.approx(10 * (2 * 0.55498 - 1) / 50, abs=1e-4)
    assert whole.flips.a_only == [7] and sorted(whole.flips.b_only) == sorted(b_only - {7})
    assert mcnemar([1.0, 0.0], [0.0, 1.0]).p_value == 1.0


def test_refuses_different_data_without_force(tmp_path, capsys):
    a = write_run(tmp_path / "a", "gpqa", 20, 2, lambda i, s: i % 2 == 0)
    b = write_run(tmp_path / "b", "gpqa", 20, 2, lambda i, s: i % 2 == 0,
                  row_extra=lambda i, s: {"expected_answer": "Z"} if i == 3 else {})
    with pytest.raises(UsageError, match=r"different data: 'expected_answer' differs in 1 of 20 problems \(first: #3\)"):
        compare_dirs(str(a), str(b))
    assert main([str(a), str(b)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: Refusing to compare") and "--force" in err and "\n" not in err
    res = compare_dirs(str(a), str(b), force=True)
    assert res.forced and "expected_answer" in res.forced[0]
    assert main([str(a), str(b), "--force"]) == 0
    assert "compared despite: gpqa: different data" in capsys.readouterr().out


def test_refuses_different_problem_count_and_prompt_set(tmp_path):
    a = write_run(tmp_path / "a", "gpqa", 20, 2, lambda i, s: True, row_extra=lambda i, s: {"examples_type": "x"})
    b = write_run(tmp_path / "b", "gpqa", 24, 2, lambda i, s: True, row_extra=lambda i, s: {"examples_type": "x"})
    c = write_run(tmp_path / "c", "gpqa", 20, 2, lambda i, s: True, row_extra=lambda i, s: {"examples_type": "y"})
    with pytest.raises(UsageError, match="A has 20 problems, B has 24"):
        compare_dirs(str(a), str(b))
    with pytest.raises(UsageError, match="different prompt set: 'examples_type' differs in 20 of 20"):
        compare_dirs(str(a), str(c))
    forced = compare_dirs(str(a), str(b), force=True)  # paired by line number on the first 20
    assert forced.comparisons[0].problems == 20


def test_manifest_hook_names_what_differs(tmp_path):
    a = write_run(tmp_path / "a", "gpqa", 10, 1, lambda i, s: True)
    b = write_run(tmp_path / "b", "gpqa", 10, 1, lambda i, s: True)
    for root, data in ((a, "sha-1"), (b, "sha-2")):
        (root / "manifest.json").write_text(json.dumps({"benchmarks": {"gpqa": {"data": data, "prompt": "p"}}}))
    with pytest.raises(UsageError, match="manifests differ in data"):
        compare_dirs(str(a), str(b))


def test_text_output_and_several_folders(tmp_path, capsys):
    a = write_run(tmp_path / "a", "gpqa", N, 4, lambda i, s: i % 2 == 0)
    b = write_run(tmp_path / "b", "gpqa", N, 4, lambda i, s: i % 4 != 3)
    c = write_run(tmp_path / "c", "gpqa", N, 4, lambda i, s: i % 2 == 1)
    write_run(tmp_path / "c", "math-500", 10, 0, lambda i, s: True)
    assert main([str(a), str(b), str(c)]) == 0
    out = capsys.readouterr().out
    blocks = out.split(f"A = {a}")
    assert len(blocks) == 3  # b vs a, then c vs a
    first, second = blocks[1], blocks[2]
    header = next(line for line in first.splitlines() if line.startswith("benchmark"))
    assert [h.strip() for h in header.split(" | ")] == ["benchmark", "metric", "problems", "seeds", "A", "B",
                                                        "B - A", "95% CI", "p", "test", "result"]
    row = next(line for line in first.splitlines() if line.startswith("gpqa "))
    cells = [x.strip() for x in row.split(" | ")]
    assert cells[4:7] == ["50.00%", "75.00%", "+25.00"] and cells[-1] == "B better"
    row = next(line for line in second.splitlines() if line.startswith("gpqa "))
    assert row.split(" | ")[-1].strip() == "not significant"
    assert "wrong in A, right in B (50): #1, #5, #9" in first
    assert "only in B: math-500" in second


def test_usage_errors(tmp_path):
    a = write_run(tmp_path / "a", "gpqa", 10, 1, lambda i, s: True)
    b = write_run(tmp_path / "b", "math-500", 10, 1, lambda i, s: True)
    with pytest.raises(UsageError, match="at least two"):
        compare_all([str(a)])
    with pytest.raises(UsageError, match="No benchmark to compare"):
        compare_dirs(str(a), str(b))
    with pytest.raises(UsageError, match="does not exist"):
        compare_dirs(str(a), str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="no 'judge_correct' scores"):
        compare_dirs(str(a), str(a), metric="judge_correct")


def test_judge_verdict_is_the_main_score_when_judged(tmp_path):
    """HLE-style rows (symbolic + judge): the judge decides, as in the summary tables."""
    judged = lambda ok: {"judgement": "Judgement: yes" if ok else "Judgement: no"}  # noqa: E731
    a = write_run(tmp_path / "a", "hle", 40, 2, lambda i, s: True, row_extra=lambda i, s: judged(i < 10))
    b = write_run(tmp_path / "b", "hle", 40, 2, lambda i, s: True, row_extra=lambda i, s: judged(i < 30))
    whole = _by_name(compare_dirs(str(a), str(b)))["hle"]
    assert whole.metric == "judge_correct" and whole.result.diff == pytest.approx(0.5)
    sym = _by_name(compare_dirs(str(a), str(b), metric="symbolic_correct"))["hle"]
    assert sym.result.diff == 0


def test_ungraded_rows_are_a_clear_error(tmp_path):
    a = write_run(tmp_path / "a", "gpqa", 5, 1, lambda i, s: True)
    path = Path(a) / "eval-results" / "gpqa" / "output-rs0.jsonl"
    rows = read_jsonl(path)
    del rows[2]["symbolic_correct"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(UsageError, match=r"output-rs0.jsonl:3: the row has no 'symbolic_correct'"):
        compare_dirs(str(a), str(a))


def _plugin_scorer():
    from skills.metrics.base import Scorer

    class Plugin(Scorer):
        main_methods = ("strict",)

        def score_dict(self, p):
            return {"loose": p["x"] > 0, "strict": p["x"] > 1, "count": p["x"]}

    return Plugin()


def test_extractor_follows_registered_scorers():
    """A plug-in metric type ('module:attr') works without any report code: methods from its
    score_dict (values outside [0, 1] left out), main method from its ``main_methods``."""
    from skills.report.scores import extractor_for

    ex = extractor_for("test_compare:_plugin_scorer")
    assert ex.methods({"x": 2}) == {"loose": 1.0, "strict": 1.0}  # count = 2 is not a score
    assert ex.methods({"x": 1}) == {"loose": 1.0, "strict": 0.0, "count": 1.0}
    assert ex.main_method(["loose", "strict"]) == "strict"
    ruler = extractor_for("ruler")  # RULER's scorer: the grader's fraction
    assert ruler.methods({"is_correct": 0.5}) == {"accuracy": 0.5}
    # families name their main method on their scorers
    scicode = extractor_for("scicode")
    assert scicode.main_method(["subtask_accuracy", "problem_accuracy"]) == "problem_accuracy"
    assert extractor_for("if").main_method(["prompt_loose_accuracy", "prompt_strict_accuracy"]) == \
        "prompt_strict_accuracy"
    with pytest.raises(UsageError, match="no correctness extractor"):
        extractor_for("arena")
