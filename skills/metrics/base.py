"""Metric machinery shared by every metric type: per-problem scoring and per-calculator sums.

How it works (and why it is fast): a ``Scorer`` turns the n predictions of ONE problem into a flat
list of additive contributions (pass@k, pass@1[avg-of-k], majority@k, ... and the raw numbers the
statistics need), together with a cached "layout" saying which ``(mode, metric)`` each slot is.
A ``Calculator`` (the whole benchmark, or one subset) only adds those lists element-wise. Every
reported number is a sum over problems divided by ``num_entries``, so one problem is scored once
even when it feeds both ``_all_`` and its subset, and nothing per row is kept in memory.

Semantics follow the reference (eval-metrics.md 2.2-2.7): unbiased pass@k over all n for 0/1 scores,
max of the first k otherwise; averages and no_answer over the first k files; statistics over the
first k runs with ddof=1; floats reported as ``100.0 * sum / num_entries``.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable, Dict, Hashable, Iterable, List, Optional, Sequence, Tuple

from skills.metrics.stats import mean, pass_at_k_table, prefix_sample_stds, sample_std, t_interval

Key = Tuple[Any, ...]  # (mode, metric) or an internal ("#...", method, index) slot
Layout = Tuple[Key, ...]
Metrics = Dict[str, Dict[str, Any]]  # mode -> metric -> value

TOKEN_METHODS = ("reasoning_tokens", "answer_tokens")
AVG1 = "pass@1[avg-of-1]"  # computed like the others, but never reported (as in the reference)


def percent(total: float, num_entries: int) -> float:
    return 100.0 * total / num_entries


class Scorer:
    """One metric type. Subclasses define the score dict of a prediction and the printed table."""

    compute_no_answer: bool = True
    answer_key: Optional[str] = None  # field whose None means "no answer" (and that majority votes on)
    main_methods: Tuple[str, ...] = ()  # what `ns report` / `ns compare` call correct, first present wins
    row_scores: bool = True  # score_dict says whether one row is correct (False: only the whole set is scored)
    # row fields naming the code that graded (e.g. BFCL's checker build): copied into every mode of
    # metrics.json (one value, or the sorted distinct values when files differ), never printed
    recorded_fields: Tuple[str, ...] = ()
    # the reference at the pin adds a problem's no_answer to pass@k and pass@1[avg-of-k] once per score
    # method (eval-metrics.md 2.3): with symbolic and judge scores (4 methods) that column is 4x the
    # share of unanswered problems. Its published judged tables (made before that) count it once, as
    # we do; True (--metrics_kwargs='{"no_answer_per_method": true}') reproduces the pin's number.
    no_answer_per_method: bool = False

    def __init__(self) -> None:
        self._layouts: Dict[Hashable, Layout] = {}

    # -- to be defined by metric types -------------------------------------------------------
    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        raise NotImplementedError

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        """The prediction as if it were wrong (used for generations longer than --max_seq_len)."""
        raise NotImplementedError

    def metrics_to_print(self) -> Optional[Dict[str, str]]:
        """Column -> formatter kind ("int" | "percent" | "float"), or None for the default formatting."""
        return None

    def evaluations_to_print(self, n: int) -> List[str]:
        return [f"pass@1[avg-of-{n}]", f"majority@{n}", f"pass@{n}"]

    def extra_contributions(self, preds, methods, scores, answers, n, vals, kb) -> None:
        """Hook for majority / reward-model modes (MathMetrics family)."""

    def review(self, files: Sequence[Any], lineno: int, preds: Sequence[Dict[str, Any]]) -> None:
        """Look at one problem's predictions (line ``lineno`` of each of ``files``, as read) for
        ``review_files``; nothing by default."""

    def review_files(self) -> Dict[str, str]:
        """File name -> text for a person to read, written next to the benchmark's result files
        after summarizing (e.g. the math metrics' judge/grader disagreements); none by default."""
        return {}

    def extra_signature(self, preds: Sequence[Dict[str, Any]], answers) -> Hashable:
        return None

    def problem_extras(self, preds: Sequence[Dict[str, Any]]) -> Optional[Dict[str, float]]:
        """Numbers summed over the problems of a calculator besides the scores (e.g. a problem's
        instruction or sub-step count, for denominators other than the number of problems)."""
        return None

    def finalize(self, metrics: Metrics, extras: Dict[str, float], num_entries: int) -> Metrics:
        """Last touch of one calculator's metrics: own denominators, renamed or reordered keys."""
        return metrics

    def problem_record(self, preds: Sequence[Dict[str, Any]]) -> Any:
        """What a metric that is not a sum over problems (a bootstrap, a rating fit) keeps of one
        problem; the records reach ``finalize_records`` in file order, one list per calculator.
        None (the default) keeps nothing."""
        return None

    def finalize_records(self, metrics: Metrics, records: List[Any]) -> Metrics:
        """Metrics computed from every problem's ``problem_record`` (after ``finalize``)."""
        return metrics

    def take_printed(self) -> List[str]:
        """Lines a metric type prints besides its tables while computing (AA-LCR's per-category
        tables, as the reference prints them), handed over once; summarize puts them first."""
        lines, self._printed = getattr(self, "_printed", []), []
        return lines

    # Metric types whose numbers are not sums over problems (corpus BLEU) set this and compute
    # everything in ``corpus_metrics`` from the rows of every problem.
    corpus_level: bool = False

    def corpus_metrics(self, benchmark: str, problems: Iterable[List[Dict[str, Any]]]) -> Dict[str, Metrics]:
        """``{<bench>: {mode: {...}}, ...}`` from all problems' rows (only when ``corpus_level``)."""
        raise NotImplementedError

    def report_sum(self, total: float, num_entries: int) -> float:
        """A mode's summed score as reported: percent of the problems, ``100 * sum / n`` (the
        reference's rounding). Types with other denominators return ``total`` and divide in ``finalize``."""
        return percent(total, num_entries)

    # -- shared per-problem scoring ----------------------------------------------------------
    def score_problem(self, preds: Sequence[Dict[str, Any]]) -> Tuple[Layout, List[Any]]:
        n = len(preds)
        dicts = [self.score_dict(p) for p in preds]
        methods = tuple(dicts[0])
        scores = {m: [d[m] for d in dicts] for m in methods}
        answers = [p[self.answer_key] for p in preds] if self.answer_key else None
        sig = (methods, n, self.extra_signature(preds, answers))
        layout = self._layouts.get(sig)
        kb: Optional[List[Key]] = None if layout is not None else []
        vals: List[Any] = []
        self._pass_contributions(methods, scores, answers, n, vals, kb)
        self.extra_contributions(preds, methods, scores, answers, n, vals, kb)
        self._stat_contributions(preds, methods, scores, n, vals, kb)
        if kb is not None:
            layout = self._layouts[sig] = tuple(kb)
        return layout, vals  # type: ignore[return-value]

    def none_prefix(self, answers: Optional[Sequence[Any]]) -> Optional[List[int]]:
        """``out[k]`` = number of None answers among the first k (None when no_answer is off)."""
        if answers is None or not self.compute_no_answer:
            return None
        out, c = [0], 0
        for a in answers:
            c += a is None
            out.append(c)
        return out

    def _pass_contributions(self, methods, scores, answers, n, vals, kb) -> None:
        nones = self.none_prefix(answers)
        table = pass_at_k_table(n)
        times = len(methods) if self.no_answer_per_method else 1
        for mi, m in enumerate(methods):
            s = scores[m]
            prefix, run = [0], 0
            for v in s:
                run += v
                prefix.append(run)
            if all(v in (0, 1) for v in s):
                passk: Sequence[float] = table[int(prefix[n])]
            else:  # non-binary (counts, fractions): best of the first k files
                passk, best = [], -math.inf
                for v in s:
                    best = v if v > best else best
                    passk.append(best)
            with_na = mi == 0 and nones is not None
            for k in range(1, n + 1):
                vals.append(passk[k - 1])
                if with_na:
                    vals.append(times * (1.0 if nones[k] == k else 0.0))  # type: ignore[index]
                vals.append(prefix[k] / k)
                if with_na:
                    vals.append(times * nones[k] / k)  # type: ignore[index]
                if kb is not None:
                    kb.append((f"pass@{k}", m))
                    if with_na:
                        kb.append((f"pass@{k}", "no_answer"))
                    kb.append((f"pass@1[avg-of-{k}]", m))
                    if with_na:
                        kb.append((f"pass@1[avg-of-{k}]", "no_answer"))

    def _stat_contributions(self, preds, methods, scores, n, vals, kb) -> None:
        if n < 2:
            return
        reasoning, answer = [], []
        for p in preds:
            r = p.get("num_reasoning_tokens") or 0
            a = p.get("num_answer_tokens") or 0
            if r == 0 and a == 0 and p.get("num_generated_tokens") is not None:  # null = missing
                a = p["num_generated_tokens"]
            reasoning.append(r)
            answer.append(a)
        lists = [reasoning, answer] + [scores[m] for m in methods]
        names = TOKEN_METHODS + methods
        for name, s in zip(names, lists):
            vals.append(1)
            vals.extend(s)
            vals.extend(prefix_sample_stds(s))
            if kb is not None:
                kb.append(("#cnt", name))
                kb.extend(("#run", name, i) for i in range(n))
                kb.extend(("#std", name, k) for k in range(2, n + 1))


class Calculator:
    """Sums of one benchmark or subset: entries, tokens, generation times, contribution slots."""

    def __init__(self, n: int, report: Optional[Callable[[float, int], float]] = None) -> None:
        self.n = n
        self.report = report or percent
        self.num_entries = 0
        self.tokens = 0.0
        self.min_start = math.inf
        self.max_end = -math.inf
        self.sums: Dict[Layout, List[Any]] = {}
        self.extras: Dict[str, float] = {}
        self.records: List[Any] = []  # Scorer.problem_record of each problem, when it keeps one

    def add(self, layout: Layout, vals: List[Any], tokens: float, start: float, end: float,
            extras: Optional[Dict[str, float]] = None, record: Any = None) -> None:
        self.num_entries += 1
        if record is not None:
            self.records.append(record)
        for key, value in (extras or {}).items():
            self.extras[key] = self.extras.get(key, 0) + value
        self.tokens += tokens
        if start < self.min_start:
            self.min_start = start
        if end > self.max_end:
            self.max_end = end
        acc = self.sums.get(layout)
        self.sums[layout] = vals if acc is None else list(map(operator.add, acc, vals))

    def metrics(self, score_methods_ci: bool = False) -> Metrics:
        """The reference's ``get_metrics`` layout; ``score_methods_ci`` adds ``<metric>_ci95``."""
        totals: Dict[Key, Any] = {}
        for layout, acc in self.sums.items():
            for key, v in zip(layout, acc):
                totals[key] = totals.get(key, 0) + v
        n_ent = self.num_entries
        common: Dict[str, Any] = {"num_entries": n_ent}
        if self.tokens > 0:
            common["avg_tokens"] = int(self.tokens / n_ent)
        if self.max_end > -math.inf and self.min_start < math.inf:
            common["gen_seconds"] = int(self.max_end - self.min_start)
        out: Metrics = {}
        stat_names: List[str] = []
        for key, v in totals.items():
            if key[0] == "#cnt":
                stat_names.append(key[1])
            elif not key[0].startswith("#") and key[0] != AVG1:
                out.setdefault(key[0], dict(common))[key[1]] = self.report(v, n_ent)
        for name in stat_names:
            self._add_statistics(out, totals, name, score_methods_ci and name not in TOKEN_METHODS)
        return out

    def _add_statistics(self, out: Metrics, totals: Dict[Key, Any], name: str, ci: bool) -> None:
        cnt = totals[("#cnt", name)]
        runs = [totals[("#run", name, i)] / cnt for i in range(self.n)]
        for k in range(2, self.n + 1):
            mode = out.get(f"pass@1[avg-of-{k}]")
            if mode is None:
                continue
            std = sample_std(runs[:k])
            mode[f"{name}_statistics"] = {
                "avg": mean(runs[:k]),
                "std_dev_across_runs": std,
                "avg_sample_std_dev": totals[("#std", name, k)] / cnt,
                "std_err_across_runs": std / math.sqrt(k),
            }
            if ci:
                lo, hi = t_interval(runs[:k])
                mode[f"{name}_ci95"] = {"low": max(0.0, 100.0 * lo), "high": min(100.0, 100.0 * hi)}
