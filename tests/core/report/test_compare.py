"""ns compare: paired statistics on hand-made result folders with known answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.core.report.helpers import write_run
from tests.helpers.files import read_jsonl
from skills.config.errors import UsageError
from skills.report.compare import MIN_PROBLEMS, Comparison, adjust, compare_all, compare_dirs, main, paired_test
from skills.report.stats import (clopper_pearson, hierarchical_bootstrap, holm, mcnemar, mcnemar_exact,
                                 mcnemar_interval, student_t_isf, student_t_sf, wilson_interval)

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


def _single(values):
    return [[v] for v in values]


def test_bootstrap_matches_t_theory_and_is_seeded():
    """One seed per run, fractional scores: a bootstrap over problems only; the interval is the
    t interval (n - 1 degrees of freedom) of the mean difference."""
    diffs = [1.0] * 50 + [0.0] * 150  # mean 0.25, unbiased sd sqrt(0.25 * 0.75 * 200 / 199)
    a, b = _single([0.5] * 200), _single([0.5 + d for d in diffs])
    res = hierarchical_bootstrap(a, b, resamples=20_000, seed=1)
    half = student_t_isf(0.025, 199) * math.sqrt(0.25 * 0.75 / 199)
    assert res.diff == pytest.approx(0.25) and res.test == "hierarchical bootstrap"
    assert res.low == pytest.approx(0.25 - half, abs=0.008) and res.high == pytest.approx(0.25 + half, abs=0.008)
    assert res.significant and res.p_value < 0.001
    assert hierarchical_bootstrap(a, b, 2000, seed=3) == hierarchical_bootstrap(a, b, 2000, seed=3)
    null = hierarchical_bootstrap(_single([0.5] * 250), _single([1.5, -0.5] * 100 + [0.5] * 50), seed=0)
    assert null.low < 0 < null.high and not null.significant and null.p_value > 0.5


def test_seed_noise_widens_the_interval_of_agreeing_problems():
    """Every problem gains exactly 0.25 (2 of 4 seeds right in A, 3 of 4 in B), yet the seeds
    disagree within each problem: the interval has the width of that seed noise, not zero."""
    a = [[1.0, 1.0, 0.0, 0.0]] * 200
    b = [[1.0, 1.0, 1.0, 0.0]] * 200
    res = hierarchical_bootstrap(a, b, resamples=20_000, seed=0)
    noise = 0.25 / 4 + 0.1875 / 4  # variance of a 4-seed mean drawn from each run's seeds
    half = 1.96 * math.sqrt(noise / 200)
    assert res.diff == pytest.approx(0.25)
    assert res.low == pytest.approx(0.25 - half, abs=0.006) and res.high == pytest.approx(0.25 + half, abs=0.006)


def test_bootstrap_equals_literal_two_stage_resampling():
    """The grouped multinomial shortcut has the distribution of drawing problem indices, shrinking
    their differences, then drawing each run's seeds within every drawn problem."""
    import numpy as np

    rng = np.random.default_rng(11)
    n, k, R = 60, 4, 8000
    p = rng.beta(0.6, 0.6, size=n)
    a = (rng.random((n, k)) < p[:, None]).astype(float)
    b = (rng.random((n, k)) < np.clip(p + 0.1, 0, 1)[:, None]).astype(float)
    fast = hierarchical_bootstrap(a.tolist(), b.tolist(), resamples=R, seed=5)
    d = b.mean(1) - a.mean(1)
    spread, within = d.var(), (a.var(1) / k + b.var(1) / k).mean()
    shrink = math.sqrt(max(0.0, spread - within) / spread)
    idx = rng.integers(0, n, size=(R, n))
    sa = np.take_along_axis(a[idx], rng.integers(0, k, size=(R, n, k)), axis=2).mean(2)
    sb = np.take_along_axis(b[idx], rng.integers(0, k, size=(R, n, k)), axis=2).mean(2)
    means = (d.mean() + shrink * (d[idx] - d.mean()) + (sb - b.mean(1)[idx]) - (sa - a.mean(1)[idx])).mean(1)
    wide = 2 * (1 - 0.5 * (1 + math.erf(student_t_isf(0.025, n - 1) * math.sqrt(n / (n - 1)) / math.sqrt(2))))
    lo, hi = np.quantile(means, [wide / 2, 1 - wide / 2])
    assert fast.low == pytest.approx(lo, abs=0.006) and fast.high == pytest.approx(hi, abs=0.006)
    assert np.var(means) == pytest.approx(max(spread, within) / n, rel=0.06)


def test_student_t_and_holm():
    assert student_t_isf(0.025, 19) == pytest.approx(2.093024, abs=1e-5)  # tables
    assert student_t_isf(0.025, 5) == pytest.approx(2.570582, abs=1e-5)
    assert student_t_sf(2.228139, 10) == pytest.approx(0.025, abs=1e-6)
    assert student_t_sf(0.0, 7) == pytest.approx(0.5) and student_t_sf(-1.0, 7) == pytest.approx(1 - student_t_sf(1.0, 7))
    # Holm: sorted 0.01, 0.02, 0.03, 0.5 -> 4 x 0.01, 3 x 0.02, max(0.06, 2 x 0.03), max(.., 0.5)
    assert holm([0.03, 0.01, 0.5, 0.02]) == pytest.approx([0.06, 0.04, 0.5, 0.06])
    assert holm([0.4, 0.9]) == pytest.approx([0.8, 0.9]) and holm([]) == []


# --------------------------------------------------------------------------- under a true null

def _stub_model(rng, problems: int):
    """One stub model: problem i is answered right with probability p_i (spread over [0, 1] like
    real benchmarks: many problems nearly always or nearly never solved)."""
    return rng.beta(0.6, 0.6, size=problems)


def _stub_run(rng, p, seeds: int, gain=None):
    """Per-problem scores of one run of the stub model (``gain``: a better model B)."""
    q = p if gain is None else (p + gain).clip(0, 1)
    return (rng.random((len(p), seeds)) < q[:, None]).astype(float).tolist()


def _compare_rows(a, b, subsets, resamples, seed):
    """The comparison's rows for in-memory runs: the benchmark, then each subset; Holm applied."""
    from skills.report.compare import Flips

    groups = {None: list(range(len(a)))}
    for i, s in enumerate(subsets):
        groups.setdefault(s, []).append(i)
    rows = []
    for sub, idx in groups.items():
        ra, rb = [a[i] for i in idx], [b[i] for i in idx]
        result = paired_test(ra, rb, resamples, seed) if len(idx) >= MIN_PROBLEMS else None
        rows.append(Comparison("bench" if sub is None else f"bench-{sub}", "bench", sub, "m", len(idx), (4, 4),
                               0.0, 0.0, result, Flips([], []), None))
    adjust(rows)
    return rows


NULL_TRIALS = 300
# One-sided 99% binomial margin over NULL_TRIALS trials: an observed family-wise rate above
# 0.05 + 2.33 * sqrt(0.05 * 0.95 / 300) = 0.079 would mean the true rate exceeds 5%.
NULL_BOUND = 0.05 + 2.33 * math.sqrt(0.05 * 0.95 / NULL_TRIALS)


def test_true_null_keeps_the_nominal_false_positive_rate():
    """Two runs of one stub model that differ only in their seeds (4 seeds each), 200 problems in
    5 subsets of 40, compared 300 times (fixed seeds, 2000 resamples: fine enough for Holm's
    smallest threshold, 0.05 / 5): the share of comparisons with any "significant" benchmark row,
    and with any "significant" subset row, each stays within the nominal 5% (NULL_BOUND). Without
    the correction, some subset looks "significant" in about a fifth of them."""
    import numpy as np

    rng = np.random.default_rng(2025)
    subsets = [f"s{i // 40}" for i in range(200)]
    primary = exploratory = raw = 0
    for trial in range(NULL_TRIALS):
        p = _stub_model(rng, 200)
        rows = _compare_rows(_stub_run(rng, p, 4), _stub_run(rng, p, 4), subsets, 2000, trial)
        primary += any(r.significant for r in rows if r.family == "primary")
        exploratory += any(r.significant for r in rows if r.family == "exploratory")
        raw += any(r.result.p_value < 0.05 for r in rows if r.family == "exploratory")
    print(f"null: primary {primary}, exploratory {exploratory}, uncorrected {raw} of {NULL_TRIALS}")
    assert primary / NULL_TRIALS <= NULL_BOUND, primary
    assert exploratory / NULL_TRIALS <= NULL_BOUND, exploratory
    assert raw / NULL_TRIALS > 0.12  # uncorrected, the same subsets often look "significant"


def test_a_real_difference_is_still_found():
    """The same set-up with B 8 points better on average (problem by problem the gain varies):
    the benchmark row finds it in nearly every comparison."""
    import numpy as np

    rng = np.random.default_rng(7)
    subsets = [f"s{i // 20}" for i in range(300)]
    found = 0
    for trial in range(40):
        p = _stub_model(rng, 300)
        gain = rng.normal(0.08, 0.1, size=300)
        rows = _compare_rows(_stub_run(rng, p, 4), _stub_run(rng, p, 4, gain), subsets, 2000, trial)
        found += rows[0].verdict == "B better"
    assert found >= 36, found


def test_too_few_problems_get_no_verdict(tmp_path, capsys):
    """The issue's case: the same stub model, seeds 0-3 against seeds 100-103, a subset of 1 and
    one of 2 problems whose differences all point one way. No interval, no p, no verdict: one line
    says why; the benchmark row (60 problems) is tested."""
    import random

    def stub(offset):
        return lambda i, s: random.Random(f"{i}-{s + offset}").random() < 0.5

    tags = lambda i, s: {"subset_for_metrics": "one" if i == 0 else "two" if i in (1, 2) else "rest"}  # noqa: E731
    a = write_run(tmp_path / "a", "gpqa", 60, 4, stub(0), row_extra=tags)
    b = write_run(tmp_path / "b", "gpqa", 60, 4, stub(100), row_extra=tags)
    rows = _by_name(compare_dirs(str(a), str(b)))
    for name in ("gpqa-one", "gpqa-two"):
        assert rows[name].result is None and rows[name].p_holm is None and not rows[name].significant
        assert rows[name].verdict == f"no verdict (< {MIN_PROBLEMS} problems)"
    assert rows["gpqa"].result is not None and rows["gpqa"].verdict == "not significant"
    assert main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("gpqa-one "))
    cells = [c.strip() for c in line.split(" | ")]
    assert cells[8:12] == ["-", "-", "-", "-"] and cells[-1].startswith("no verdict")
    assert (f"no verdict for 2 row(s) with fewer than {MIN_PROBLEMS} problems: gpqa-one (1), gpqa-two (2); "
            "with so few problems a difference cannot be told from seed noise") in out


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
    assert r.test == "hierarchical bootstrap" and whole.significant and whole.verdict == "B better"
    assert r.low < 0.25 < r.high and r.low > 0.15 and r.high < 0.35
    assert whole.flips.a_only == [] and whole.flips.b_only == [i for i in range(N) if i % 4 == 1]
    # subsets: even problems are right in both (no difference), odd ones gain 50 points
    even, odd = _by_name(res)["gpqa-even"], _by_name(res)["gpqa-odd"]
    assert even.problems == odd.problems == N // 2
    assert even.result.diff == 0 and not even.significant and even.verdict == "not significant"
    assert odd.result.diff == pytest.approx(0.5) and odd.significant and odd.family == "exploratory"
    assert whole.family == "primary" and whole.p_holm == r.p_value  # one benchmark row: nothing to adjust
    assert odd.p_holm == pytest.approx(min(1.0, 2 * min(even.result.p_value, odd.result.p_value)))


def test_seeds_are_averaged_per_problem(tmp_path):
    """Each problem: 2 of 4 seeds right in A, 3 of 4 in B -> every problem gains exactly 0.25; the
    interval keeps the seeds' noise (it is not [0.25, 0.25])."""
    a = write_run(tmp_path / "a", "gpqa", N, 4, lambda i, s: (i + s) % 4 < 2)
    b = write_run(tmp_path / "b", "gpqa", N, 4, lambda i, s: (i + s) % 4 < 3)
    r = _by_name(compare_dirs(str(a), str(b)))["gpqa"].result
    assert r.diff == pytest.approx(0.25) and 0.15 < r.low < 0.23 and 0.27 < r.high < 0.35 and r.significant


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
    assert r.p_value == pytest.approx(2 * 11 / 1024) and r.significant and whole.significant
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
    with pytest.raises(UsageError, match="the runs. data differ"):
        compare_dirs(str(a), str(b))


def test_manifest_differences_are_said_in_words(tmp_path):
    """A prompt made from the reference's set in A and from our own words in B: the refusal says so,
    and never shows a checksum."""
    a = write_run(tmp_path / "a", "gpqa", 10, 1, lambda i, s: True)
    b = write_run(tmp_path / "b", "gpqa", 10, 1, lambda i, s: True)
    data = {"file": "/d/gpqa/test.jsonl", "sha256": "1" * 64, "rows": 10}
    prompts = {a: {"config": "eval/aai/mcq-4choices", "file": "/set/config/eval/aai/mcq-4choices.yaml",
                   "sha256": "a" * 64, "source": "nemo-skills@0b012df8"},
               b: {"config": "eval/aai/mcq-4choices", "file": "/repo/prompts/eval/aai/mcq-4choices.yaml",
                   "sha256": "b" * 64, "source": "skills-builtin"}}
    for root in (a, b):
        (root / "manifest.json").write_text(json.dumps({"benchmarks": {"gpqa": {"data": data, "prompt": prompts[root]}}}))
    with pytest.raises(UsageError) as err:
        compare_dirs(str(a), str(b))
    text = err.value.message
    assert "the runs' prompt differ: source A 'nemo-skills@0b012df8', B 'skills-builtin'; file content differs" in text
    assert "the runs' data" not in text  # the same data bytes: not a difference
    assert "a" * 16 not in text and "b" * 16 not in text


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
    assert [h.strip() for h in header.split(" | ")] == ["benchmark", "rows", "metric", "problems", "seeds", "A", "B",
                                                        "B - A", "95% CI", "p", "p (Holm)", "test", "result"]
    row = next(line for line in first.splitlines() if line.startswith("gpqa "))
    cells = [x.strip() for x in row.split(" | ")]
    assert cells[1] == "primary" and cells[5:8] == ["50.00%", "75.00%", "+25.00"] and cells[-1] == "B better"
    assert "hierarchical bootstrap over problems and seeds (10000 resamples, seed 0)" in first
    assert "p (Holm): adjusted over the 1 benchmark row(s) (primary) and, separately, over the 2 subset" in first
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

    ex = extractor_for("tests.core.report.test_compare:_plugin_scorer")
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


def test_forest_plot_colours_follow_the_corrected_verdicts():
    """A subset whose own interval excludes 0 (p = 0.03) but whose Holm-adjusted p does not pass
    is grey in the plot and "not significant" in the table; rows without a test are hollow."""
    from skills.report.build import compare_payload
    from skills.report.compare import CompareResult, Flips
    from skills.report.stats import PairedResult

    def row(sub, p, low, problems=100):
        result = PairedResult(0.05, low, 0.1, p, "hierarchical bootstrap") if p is not None else None
        return Comparison("gpqa" if sub is None else f"gpqa-{sub}", "gpqa", sub, "m", problems, (4, 4), 0.5, 0.55,
                          result, Flips([], []))

    rows = [row(None, 0.001, 0.02), row("x", 0.03, 0.01), row("y", 0.04, 0.005), row("z", 0.5, -0.1),
            row("tiny", None, 0.0, problems=3)]
    adjust(rows)
    assert rows[1].result.significant and not rows[1].significant  # raw yes, corrected no
    assert [r.verdict for r in rows] == ["B better", "not significant", "not significant", "not significant",
                                         f"no verdict (< {MIN_PROBLEMS} problems)"]
    payload = compare_payload(CompareResult("a", "b", rows))
    marker = payload["figure"]["data"][0]["marker"]
    names = payload["figure"]["data"][0]["y"]
    colour = dict(zip(names, marker["color"]))
    symbol = dict(zip(names, marker["symbol"]))
    assert colour["gpqa"] == "#1f77b4" and colour["gpqa-x (exploratory)"] == "#aaaaaa"
    assert symbol["gpqa-tiny (exploratory)"] == "circle-open" and symbol["gpqa"] == "circle"
    assert [r["significant"] for r in payload["rows"]] == [True, False, False, False, False]
