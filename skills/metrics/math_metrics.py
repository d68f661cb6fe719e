"""MathMetrics family: metric types ``math`` and ``multichoice`` (eval-metrics.md 2.4, 2.5, 3.3), the base of
benchmark families' own variants (e.g. HLE's).

Score methods come from the row: ``symbolic_correct`` when present, ``judge_correct`` when the row
has a ``judgement`` (any benchmark of this family, not only HLE), and ``both_correct`` /
``any_correct`` when both exist. Majority votes on raw answer strings; ties are averaged over the
tied (answer, score) pairs. Reward-model modes appear when rows carry ``reward_model_score``.

Where the judge and the symbolic grader disagree on a prediction, summarizing lists it in
``judge-disagreements.txt`` next to the benchmark's result files (the reference only logs them at
debug level): the place to look before trusting either column.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from skills.evaluation.judge import is_correct_judgement
from skills.metrics.base import Scorer


def _vote(answer: Any) -> Any:
    """Answers are compared as raw values; unhashable ones (lists, dicts) by their repr."""
    try:
        hash(answer)
        return answer
    except TypeError:
        return repr(answer)


DISAGREEMENTS_FILE = "judge-disagreements.txt"


def _block(label: str, value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if "\n" not in text:
        return f"{label}: {text}"
    return f"{label}:\n" + "\n".join("    " + line for line in text.splitlines())


def disagreement_text(file_name: str, lineno: int, p: Dict[str, Any], symbolic: Any, judge: bool,
                      answer_key: str) -> str:
    """One disagreement as a person reads it: where, both verdicts, the problem, both answers, the judge's text."""
    return "\n".join([
        f"== {file_name} line {lineno}: symbolic_correct={bool(symbolic)} judge_correct={judge}",
        _block("problem", p.get("problem")),
        _block("predicted answer", p["predicted_answer"] if "predicted_answer" in p else p.get(answer_key)),
        _block("expected answer", p.get("expected_answer")),
        _block("judgement", p.get("judgement")),
    ])


class MathScorer(Scorer):
    main_methods = ("judge_correct", "symbolic_correct")  # a judge's verdict is the score when there is one

    def __init__(self, compute_no_answer: bool = True, answer_key: str = "predicted_answer",
                 no_answer_per_method: bool = False) -> None:
        super().__init__()
        self.compute_no_answer = compute_no_answer
        self.answer_key = answer_key
        self.no_answer_per_method = no_answer_per_method
        self._judged = 0  # predictions with both a symbolic verdict and a judgement
        self._disagreements: List[str] = []

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        if "symbolic_correct" in prediction:
            out["symbolic_correct"] = prediction["symbolic_correct"]
        if "judgement" in prediction:
            out["judge_correct"] = is_correct_judgement(prediction["judgement"])
        if len(out) == 2:
            out["both_correct"] = bool(out["symbolic_correct"] and out["judge_correct"])
            out["any_correct"] = bool(out["symbolic_correct"] or out["judge_correct"])
        return out

    def review(self, files, lineno: int, preds) -> None:
        for path, p in zip(files, preds):
            if "symbolic_correct" not in p or "judgement" not in p:
                continue
            self._judged += 1
            symbolic, judge = p["symbolic_correct"], is_correct_judgement(p["judgement"])
            if symbolic != judge:
                self._disagreements.append(disagreement_text(getattr(path, "name", str(path)), lineno, p, symbolic,
                                                             judge, self.answer_key))

    def review_files(self) -> Dict[str, str]:
        if not self._judged:
            return {}
        n = len(self._disagreements)
        head = (f"{n} of {self._judged} judged predictions: the LLM judge and the symbolic grader disagree"
                if n else f"none of {self._judged} judged predictions: the LLM judge and the symbolic grader agree")
        return {DISAGREEMENTS_FILE: "\n\n".join([head, *self._disagreements]) + "\n"}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        row = dict(prediction)
        if "symbolic_correct" in row:
            row["symbolic_correct"] = False
        if "judgement" in row:
            row["judgement"] = "Judgement: No"
        row[self.answer_key] = None
        return row

    def metrics_to_print(self) -> Optional[Dict[str, str]]:
        cols = {"num_entries": "int", "avg_tokens": "int", "gen_seconds": "int"}
        cols.update({"judge_correct": "percent", "symbolic_correct": "percent"})
        if self.compute_no_answer:
            cols["no_answer"] = "percent"
        return cols

    def evaluations_to_print(self, n: int) -> List[str]:
        return [f"pass@1[avg-of-{n}]", f"majority@{n}", f"rm_best@{n}", f"rm_majority@{n}", f"pass@{n}"]

    def extra_signature(self, preds, answers) -> Any:
        """Layout depends on reward scores and on how many leading answers are None (rm modes)."""
        if "reward_model_score" not in preds[0]:
            return None
        lead = 0
        while lead < len(answers) and answers[lead] is None:
            lead += 1
        return lead

    def extra_contributions(self, preds, methods, scores, answers, n, vals, kb) -> None:
        self._majority(methods, scores, answers, n, vals, kb)
        if "reward_model_score" in preds[0]:
            self._reward(preds, methods, scores, answers, n, vals, kb)

    def _majority(self, methods, scores, answers, n, vals, kb) -> None:
        votes = [_vote(a) for a in answers]
        nones = self.none_prefix(answers)
        for m in methods:
            s = scores[m]
            counts: Dict[Any, int] = {}
            for i in range(n):
                if answers[i] is not None:
                    pair = (votes[i], s[i])
                    counts[pair] = counts.get(pair, 0) + 1
                k = i + 1
                if k < 2:
                    continue
                if counts:
                    top = max(counts.values())
                    tied = [pair[1] for pair, c in counts.items() if c == top]
                    vals.append(sum(tied) / len(tied))
                else:
                    vals.append(0.0)
                if kb is not None:
                    kb.append((f"majority@{k}", m))
        if nones is not None:  # once per k, after every method (the reference's key order)
            for k in range(2, n + 1):
                vals.append(1.0 if nones[k] == k else 0.0)
                if kb is not None:
                    kb.append((f"majority@{k}", "no_answer"))

    def _reward(self, preds, methods, scores, answers, n, vals, kb) -> None:
        rewards = [p["reward_model_score"] for p in preds]
        for k in range(1, n + 1):
            valid = [i for i in range(k) if answers[i] is not None]
            if valid:
                best = valid[0]
                for i in valid:  # highest reward, first one wins ties
                    if rewards[i] > rewards[best]:
                        best = i
                totals: Dict[Any, float] = {}
                last: Dict[Any, int] = {}
                for i in valid:
                    v = _vote(answers[i])
                    totals[v] = totals.get(v, 0.0) + rewards[i]
                    last[v] = i
                top = max(totals.values())
                chosen = last[next(a for a, t in totals.items() if t == top)]
                for m in methods:
                    vals.append(scores[m][best])
                    vals.append(scores[m][chosen])
                    if kb is not None:
                        kb.append((f"rm_best@{k}", m))
                        kb.append((f"rm_majority@{k}", m))
            if self.compute_no_answer:
                nothing = 0.0 if valid else 1.0
                vals.append(nothing)
                vals.append(nothing)
                if kb is not None:
                    kb.append((f"rm_best@{k}", "no_answer"))
                    kb.append((f"rm_majority@{k}", "no_answer"))

