"""Metric rules the conformance fixtures do not exercise (eval-metrics.md 2.1-2.9, 3.3, 5).

Two kinds of checks: hand-computed cases, each citing its rule, and a differential test against
``prose_metrics`` below, a deliberately naive re-statement of sections 2.2-2.7 (one problem at a
time, no caching, no prefix sums) run on random result folders.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from skills.metrics.compute import compute_metrics
from skills.metrics.summarize import main
from skills.metrics.types import make_scorer


def write_seeds(d: Path, seeds: List[List[Dict[str, Any]]]) -> List[Path]:
    d.mkdir(parents=True, exist_ok=True)
    files = []
    for i, rows in enumerate(seeds):
        f = d / f"output-rs{i}.jsonl"
        f.write_text("".join(json.dumps(r) + "\n" for r in rows))
        files.append(f)
    return files


def one_problem(tmp_path: Path, preds: List[Dict[str, Any]], kind: str = "math", **kw) -> Dict[str, Any]:
    files = write_seeds(tmp_path / "bench", [[p] for p in preds])
    return compute_metrics("bench", files, make_scorer(kind), **kw)["bench"]


def mrow(ans: Optional[str], ok: Any, tokens: Optional[int] = 10, **extra: Any) -> Dict[str, Any]:
    r: Dict[str, Any] = {"predicted_answer": ans, "symbolic_correct": ok, **extra}
    if tokens is not None:
        r["num_generated_tokens"] = tokens
    return r


# -- hand-computed rules ------------------------------------------------------------------------


def test_float_zero_one_scores_are_binary(tmp_path):
    # 2.3: 1.0 / 0.0 count as binary, so pass@1 is the mean over ALL files, not the first file.
    m = one_problem(tmp_path, [mrow("A", 0.0), mrow("A", 1.0), mrow("A", 1.0)])
    assert m["pass@1"]["symbolic_correct"] == pytest.approx(200 / 3)
    assert m["pass@2"]["symbolic_correct"] == 100.0  # 1 - C(1,2)/C(3,2) = 1


def test_a_count_of_two_makes_the_problem_non_binary(tmp_path):
    # 2.3: a score of 2 is not 0/1 -> pass@k = max of the first k files (pass@1 = first file).
    m = one_problem(tmp_path, [mrow("A", 0), mrow("A", 2), mrow("A", 1)])
    assert m["pass@1"]["symbolic_correct"] == 0.0
    assert m["pass@2"]["symbolic_correct"] == 200.0  # 100 * max(0, 2)
    assert m["pass@1[avg-of-3]"]["symbolic_correct_statistics"]["avg"] == pytest.approx(1.0)  # raw counts


def test_majority_votes_are_answer_score_pairs(tmp_path):
    # 2.4: the same answer with different scores gives different votes: (A,1), (A,0), (B,0) is a
    # 3-way tie -> 1/3, not "A wins 2-1".
    m = one_problem(tmp_path, [mrow("A", True), mrow("A", False), mrow("B", False)])
    assert m["majority@3"]["symbolic_correct"] == pytest.approx(100 / 3)


def test_majority_with_judge_scores_per_method(tmp_path):
    # 2.4 + 3.3: majority runs per score method on (answer, that method's score) pairs.
    preds = [mrow("7", False, judgement="Judgement: yes"), mrow("7", False, judgement="Judgement: yes"),
             mrow("8", True, judgement="Judgement: no")]
    m = one_problem(tmp_path, preds)
    assert m["majority@3"]["judge_correct"] == 100.0
    assert m["majority@3"]["symbolic_correct"] == 0.0
    assert m["majority@3"]["any_correct"] == 100.0  # (7,1) x2 beats (8,1)
    assert m["majority@3"]["both_correct"] == 0.0


def test_max_seq_len_keeps_exactly_l_tokens(tmp_path):
    # 2.1: only int(num_generated_tokens) > L is cut (a float count is truncated first).
    preds = [mrow("A", True, 100), mrow("A", True, 101), mrow("A", True, 100.9)]
    m = one_problem(tmp_path, preds, max_seq_len=100)
    assert m["pass@1[avg-of-3]"]["symbolic_correct"] == pytest.approx(200 / 3)
    assert m["pass@1[avg-of-3]"]["no_answer"] == pytest.approx(100 / 3)


def test_hle_max_seq_len_drops_the_generation_vote(tmp_path):
    # 2.1 + 5: the hle answer key is `generation`; a cut sample loses its vote and its judge "yes".
    def hle(gen: str, tokens: int) -> Dict[str, Any]:
        return {"generation": gen, "predicted_answer": None, "symbolic_correct": False,
                "judgement": "Judgement: yes", "num_generated_tokens": tokens}

    m = one_problem(tmp_path, [hle("x", 500), hle("x", 500), hle("y", 5)], kind="hle", max_seq_len=100)
    assert m["majority@3"]["judge_correct"] == 100.0  # only "y" votes, and it is judged yes
    assert m["majority@2"]["judge_correct"] == 0.0  # no votes at all -> 0
    assert "no_answer" not in m["majority@2"]
    assert m["pass@1[avg-of-3]"]["judge_correct"] == pytest.approx(100 / 3)


def test_avg_tokens_truncates_and_ignores_missing_counts(tmp_path):
    # 2.2: per problem, the sum over predictions that HAVE the key divided by n (not by how many
    # have it); reported as int(sum / num_entries).
    m = one_problem(tmp_path, [mrow("A", True, 7), mrow("A", True, None), mrow("A", True, 9)])
    assert m["pass@1"]["avg_tokens"] == 5  # int(16 / 3)
    m = one_problem(tmp_path / "z", [mrow("A", True, 0), mrow("A", True, None)])
    assert "avg_tokens" not in m["pass@1"]  # only reported when > 0


def test_null_token_counts_count_as_missing(tmp_path):
    # Servers without usage data leave num_generated_tokens null; such rows must not break the
    # summary (2.2 token fallback: answer tokens fall back only to an existing count).
    m = one_problem(tmp_path, [mrow("A", True, None, num_generated_tokens=None), mrow("A", True, 6)])
    assert m["pass@1"]["avg_tokens"] == 3
    assert m["pass@1[avg-of-2]"]["answer_tokens_statistics"]["avg"] == 3.0
    m = one_problem(tmp_path / "z", [mrow("A", True, None, num_generated_tokens=None), mrow("A", True, 6)],
                    max_seq_len=5)
    assert m["pass@1[avg-of-2]"]["symbolic_correct"] == 50.0


def test_gen_seconds_per_subset(tmp_path):
    # 2.2 + 2.1: gen_seconds spans only the rows of that calculator.
    def r(sub: str, start: float, end: float) -> Dict[str, Any]:
        return mrow("A", True, subset_for_metrics=sub, generation_start_time=start, generation_end_time=end)

    files = write_seeds(tmp_path / "bench", [[r("a", 0.0, 10.5), r("b", 100.0, 160.9)]])
    res = compute_metrics("bench", files, make_scorer("math"))
    assert res["bench"]["pass@1"]["gen_seconds"] == 160
    assert res["bench-a"]["pass@1"]["gen_seconds"] == 10
    assert res["bench-b"]["pass@1"]["gen_seconds"] == 60


def test_greedy_with_reward_prints_rm_rows_before_pass_at_1(tmp_path, capsys):
    # 2.9: MathMetrics prints [avg-of-n, majority@n, rm_best@n, rm_majority@n, pass@n] that exist;
    # with one file that is rm_best@1, rm_majority@1, pass@1 in this order.
    d = tmp_path / "aime24"
    d.mkdir()
    (d / "output.jsonl").write_text(json.dumps(mrow("1", True, reward_model_score=0.5)) + "\n")
    assert main([str(tmp_path)]) == 0
    rows = [ln.split(" ")[0] for ln in capsys.readouterr().out.split("\n")[2:5]]
    assert rows == ["rm_best@1", "rm_majority@1", "pass@1"]


# -- differential test against a naive statement of the prose ------------------------------------


def _judge_yes(text: Any) -> bool:
    if not isinstance(text, str) or "Judgement:" not in text:
        return False
    return text[text.rfind("Judgement:") + len("Judgement:"):].strip().lower().startswith("yes")


def _score_dict(p: Dict[str, Any]) -> Dict[str, Any]:
    d: Dict[str, Any] = {}
    if "symbolic_correct" in p:
        d["symbolic_correct"] = p["symbolic_correct"]
    if "judgement" in p:
        d["judge_correct"] = _judge_yes(p["judgement"])
    if len(d) == 2:
        d["both_correct"] = bool(d["symbolic_correct"] and d["judge_correct"])
        d["any_correct"] = bool(d["symbolic_correct"] or d["judge_correct"])
    return d


class _ProseCalc:
    """One calculator, updated one problem at a time exactly as sections 2.2-2.5 word it."""

    def __init__(self, no_answer: bool, key: str) -> None:
        self.no_answer, self.key = no_answer, key
        self.acc: Dict[str, Dict[str, float]] = {}
        self.entries, self.tokens, self.n = 0, 0.0, 0
        self.starts: List[float] = []
        self.ends: List[float] = []
        self.lists: Dict[str, List[List[float]]] = {}

    def _add(self, mode: str, metric: str, v: float) -> None:
        d = self.acc.setdefault(mode, {})
        d[metric] = d.get(metric, 0.0) + v

    def update(self, preds: List[Dict[str, Any]]) -> None:
        n = self.n = len(preds)
        self.entries += 1
        self.tokens += sum(p["num_generated_tokens"] for p in preds if "num_generated_tokens" in p) / n
        self.starts += [p["generation_start_time"] for p in preds if "generation_start_time" in p]
        self.ends += [p["generation_end_time"] for p in preds if "generation_end_time" in p]
        sds = [_score_dict(p) for p in preds]
        ans = [p[self.key] for p in preds]
        reasoning = [p.get("num_reasoning_tokens") or 0 for p in preds]
        answer = [p.get("num_answer_tokens") or 0 for p in preds]
        for i, p in enumerate(preds):
            if reasoning[i] == 0 and answer[i] == 0 and "num_generated_tokens" in p:
                answer[i] = p["num_generated_tokens"]
        self.lists.setdefault("reasoning_tokens", []).append(reasoning)
        self.lists.setdefault("answer_tokens", []).append(answer)
        for mi, m in enumerate(sds[0]):
            s = [d[m] for d in sds]
            self.lists.setdefault(m, []).append(s)
            binary, c = all(v in (0, 1, True, False) for v in s), sum(s)
            for k in range(1, n + 1):
                passk = (1.0 if n - c < k else 1 - math.comb(n - c, k) / math.comb(n, k)) if binary else max(s[:k])
                self._add(f"pass@{k}", m, passk)
                self._add(f"pass@1[avg-of-{k}]", m, sum(s[:k]) / k)
                if self.no_answer and mi == 0:  # once, not once per method (docs/metrics.md deviation)
                    self._add(f"pass@{k}", "no_answer", float(all(a is None for a in ans[:k])))
                    self._add(f"pass@1[avg-of-{k}]", "no_answer", sum(a is None for a in ans[:k]) / k)
            for k in range(2, n + 1):
                votes = Counter((ans[j], s[j]) for j in range(k) if ans[j] is not None)
                top = max(votes.values(), default=0)
                tied = [pair[1] for pair, cnt in votes.items() if cnt == top]
                self._add(f"majority@{k}", m, sum(tied) / len(tied) if tied else 0.0)
        for k in range(2, n + 1):
            if self.no_answer:
                self._add(f"majority@{k}", "no_answer", float(all(a is None for a in ans[:k])))
        if "reward_model_score" in preds[0]:
            for k in range(1, n + 1):
                valid = [j for j in range(k) if ans[j] is not None]
                if valid:
                    best = sorted(valid, key=lambda j: preds[j]["reward_model_score"], reverse=True)[0]
                    totals: Dict[Any, float] = {}
                    for j in valid:
                        totals[ans[j]] = totals.get(ans[j], 0.0) + preds[j]["reward_model_score"]
                    winner = max(totals, key=lambda a: totals[a])  # first-inserted wins ties
                    chosen = [j for j in valid if ans[j] == winner][-1]
                    for m in sds[0]:
                        self._add(f"rm_best@{k}", m, sds[best][m])
                        self._add(f"rm_majority@{k}", m, sds[chosen][m])
                if self.no_answer:
                    self._add(f"rm_best@{k}", "no_answer", float(not valid))
                    self._add(f"rm_majority@{k}", "no_answer", float(not valid))

    def metrics(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for mode, d in self.acc.items():
            if mode == "pass@1[avg-of-1]":
                continue
            e: Dict[str, Any] = {"num_entries": self.entries}
            if self.tokens > 0:
                e["avg_tokens"] = int(self.tokens / self.entries)
            if self.starts:
                e["gen_seconds"] = int(max(self.ends) - min(self.starts))
            e.update({m: 100.0 * v / self.entries for m, v in d.items()})
            out[mode] = e
        for name, rows in self.lists.items():
            for k in range(2, self.n + 1):
                runs = [statistics.fmean(r[i] for r in rows) for i in range(k)]
                std = statistics.stdev(runs)
                out[f"pass@1[avg-of-{k}]"][f"{name}_statistics"] = {
                    "avg": statistics.fmean(statistics.fmean(r[:k]) for r in rows),
                    "std_dev_across_runs": std,
                    "avg_sample_std_dev": statistics.fmean(statistics.stdev(r[:k]) for r in rows),
                    "std_err_across_runs": std / math.sqrt(k),
                }
        return out


def prose_metrics(bench: str, seeds: List[List[Dict[str, Any]]], kind: str, max_seq_len: Optional[int]):
    no_answer, key = (False, "generation") if kind == "hle" else (True, "predicted_answer")
    calcs = {bench: _ProseCalc(no_answer, key)}
    for preds in zip(*seeds):
        preds = list(preds)
        for i, p in enumerate(preds):
            if max_seq_len is not None and int(p["num_generated_tokens"]) > max_seq_len:
                q = {**p, key: None}
                if "symbolic_correct" in q:
                    q["symbolic_correct"] = False
                if "judgement" in q:
                    q["judgement"] = "Judgement: No"
                preds[i] = q
        calcs[bench].update(preds)
        sub = preds[0].get("subset_for_metrics")
        if sub is not None:
            calcs.setdefault(f"{bench}-{sub}", _ProseCalc(no_answer, key)).update(preds)
    return {name: c.metrics() for name, c in calcs.items()}


def _random_seeds(rng: random.Random):
    n, problems = rng.randint(1, 5), rng.randint(1, 6)
    kind = rng.choice(["math", "multichoice", "hle"])
    judge = kind == "hle" or rng.random() < 0.4
    symbolic = not judge or rng.random() < 0.8
    counts = not judge and rng.random() < 0.2
    reward, times, subsets = kind != "hle" and rng.random() < 0.3, rng.random() < 0.5, rng.random() < 0.5
    seeds: List[List[Dict[str, Any]]] = [[] for _ in range(n)]
    for _ in range(problems):
        for s in range(n):
            r: Dict[str, Any] = {"predicted_answer": rng.choice([None, "", "1", "2"]),
                                 "generation": rng.choice(["x", "", "y"]),
                                 "num_generated_tokens": rng.randint(0, 300)}
            if symbolic:
                r["symbolic_correct"] = rng.choice([0, 0.5, 1, 2]) if counts else rng.choice([True, False])
            if judge:
                r["judgement"] = rng.choice(["Judgement: yes", "Judgement: no", "junk"])
            if reward:
                r["reward_model_score"] = rng.choice([0.1, 0.5, 0.9])
            if rng.random() < 0.3:
                r["num_reasoning_tokens"] = rng.choice([None, 0, 50])
            if rng.random() < 0.3:
                r["num_answer_tokens"] = rng.choice([None, 0, 20])
            if times:
                r["generation_start_time"] = start = rng.uniform(0, 1000)
                r["generation_end_time"] = start + rng.uniform(0, 100)
            if subsets:
                r["subset_for_metrics"] = rng.choice(["a", "b"])
            seeds[s].append(r)
    return seeds, kind, rng.choice([None, None, 150])


def _close(got: Any, exp: Any, where: str) -> None:
    assert type(got) is type(exp), f"{where}: {got!r} vs {exp!r}"
    if isinstance(exp, dict):
        assert set(got) == set(exp), f"{where}: keys {sorted(set(got) ^ set(exp))}"
        for k in exp:
            _close(got[k], exp[k], f"{where}/{k}")
    elif isinstance(exp, float):
        assert got == pytest.approx(exp, abs=1e-9), where
    else:
        assert got == exp, where


@pytest.mark.parametrize("seed", range(4))
def test_matches_the_prose_on_random_folders(tmp_path, seed):
    rng = random.Random(seed)
    for case in range(100):
        seeds, kind, max_seq_len = _random_seeds(rng)
        files = write_seeds(tmp_path / f"c{case}" / "b", seeds)
        got = compute_metrics("b", files, make_scorer(kind), max_seq_len=max_seq_len)
        exp = prose_metrics("b", seeds, kind, max_seq_len)
        _close(got, exp, f"case {case} ({kind}, max_seq_len={max_seq_len})")
        assert list(got) == list(exp)  # subsets in first-appearance order
        for name in exp:
            assert list(got[name]) == list(exp[name]), name  # mode order (2.6)
