"""The metric type ``answer-judgement`` (the reference's ``AnswerJudgementMetrics``).

Each line is one verdict of the model under test: ``judgement`` (its reply) against
``expected_judgement`` (``Judgement: Yes`` / ``No``), both read as the math judge's verdicts
(``skills.evaluation.judge.parse_judgement``: yes, no, or unreadable). Per problem and k:

- ``correct_judgements``: the verdict equals the expected one (an unreadable verdict is wrong);
  pass@k, pass@1[avg-of-k] and majority@k (votes over readable verdicts, ties averaged) as usual;
  ``invalid_judgements`` is ``no_answer`` renamed (unreadable verdicts).
- ``false_positives`` / ``false_negatives`` (percent of problems): a "yes" where "no" was right /
  the reverse. For pass@k the verdict counted is the right one if among the first k, else the
  first readable one; for majority@k the majority verdict (ties: "no" before "yes"); for
  pass@1[avg-of-k] each of the first k, weighted 1/k.
- ``precision``, ``recall``, ``f1``: from those verdicts' true/false positives summed over problems,
  per sample index and then averaged over the samples (k of them for pass@1[avg-of-k], one
  otherwise); recall divides by the problems whose right verdict is "yes"; an empty denominator
  gives 100 (precision, recall) as in the reference.

As the reference, ``--max_seq_len`` does not turn long generations into wrong verdicts here (its
``get_incorrect_sample`` sets a key nothing reads); the conformance data's table depends on it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple

from skills.evaluation.judge import parse_judgement
from skills.metrics.base import Metrics
from skills.metrics.math_metrics import MathScorer

VERDICT = "_verdict"  # the parsed verdict the votes and no_answer read (added per row while scoring)
ORDER = ("num_entries", "avg_tokens", "gen_seconds", "correct_judgements", "false_positives", "false_negatives",
         "invalid_judgements")


def _outcome(pred: Optional[bool], gt: Optional[bool]) -> Tuple[float, float, float]:
    """(tp, fp, fn) of one counted verdict."""
    return (float(pred is True and gt is True), float(pred is True and gt is False),
            float(pred is False and gt is True))


class AnswerJudgementScorer(MathScorer):
    main_methods = ("correct_judgements",)

    def __init__(self) -> None:
        super().__init__(compute_no_answer=True, answer_key=VERDICT)

    def score_problem(self, preds: Sequence[Dict[str, Any]]):
        rows = [{**p, VERDICT: parse_judgement(p["judgement"])} for p in preds]
        return super().score_problem(rows)

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        expected = parse_judgement(prediction["expected_judgement"])
        return {"correct_judgements": expected == parse_judgement(prediction["judgement"])}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        yes = parse_judgement(prediction["expected_judgement"])
        return {**prediction, "predicted_judgement": "Judgement: No" if yes else "Judgement: Yes"}

    def metrics_to_print(self) -> Optional[Dict[str, str]]:
        return None  # the reference's default formatting: every number, floats as percents

    def evaluations_to_print(self, n: int) -> List[str]:
        return [f"pass@1[avg-of-{n}]", f"majority@{n}", f"pass@{n}"]

    # -- false positives / negatives and the outcomes behind precision and recall ----------------------
    def _outcomes(self, preds: Sequence[Dict[str, Any]]) -> Dict[str, List[Tuple[float, float, float]]]:
        """mode -> the (tp, fp, fn) of each counted verdict of this problem."""
        verdicts = [parse_judgement(p["judgement"]) for p in preds]
        gts = [parse_judgement(p["expected_judgement"]) for p in preds]
        gt = gts[0]
        out: Dict[str, List[Tuple[float, float, float]]] = {}
        for k in range(1, len(preds) + 1):
            first = verdicts[:k]
            pick = gt if gt in first else next((v for v in first if v is not None), None)
            out[f"pass@{k}"] = [_outcome(pick, gt)]
            out[f"pass@1[avg-of-{k}]"] = [_outcome(v, g) for v, g in zip(first, gts[:k])]
            if k >= 2:
                pairs = [(v, v == g) for v, g in zip(first, gts[:k]) if v is not None]
                majority = None
                if pairs:
                    counts = Counter(pairs)
                    top = max(counts.values())
                    majority = sorted(p for p, c in counts.items() if c == top)[0][0]
                out[f"majority@{k}"] = [_outcome(majority, gt)]
        return out

    def extra_contributions(self, preds, methods, scores, answers, n, vals, kb) -> None:
        super().extra_contributions(preds, methods, scores, answers, n, vals, kb)
        for mode, outcomes in self._outcomes(preds).items():
            vals.append(sum(o[1] for o in outcomes) / len(outcomes))
            vals.append(sum(o[2] for o in outcomes) / len(outcomes))
            if kb is not None:
                kb.append((mode, "false_positives"))
                kb.append((mode, "false_negatives"))

    def problem_extras(self, preds: Sequence[Dict[str, Any]]) -> Dict[str, float]:
        out = {"positives": float(parse_judgement(preds[0]["expected_judgement"]) is True)}
        for mode, outcomes in self._outcomes(preds).items():
            for i, (tp, fp, _) in enumerate(outcomes):
                out[f"tp\t{mode}\t{i}"] = tp
                out[f"fp\t{mode}\t{i}"] = fp
        return out

    def finalize(self, metrics: Metrics, extras: Dict[str, float], num_entries: int) -> Metrics:
        positives = extras.get("positives", 0.0)
        for mode, values in metrics.items():
            values["invalid_judgements"] = values.pop("no_answer", 0.0)
            samples = sum(1 for key in extras if key.startswith(f"tp\t{mode}\t"))
            precision = recall = f1 = 0.0
            for i in range(samples):
                tp, fp = extras[f"tp\t{mode}\t{i}"], extras[f"fp\t{mode}\t{i}"]
                p = tp / (tp + fp) if tp + fp > 0 else 1.0
                r = tp / positives if positives > 0 else 1.0
                precision += p
                recall += r
                f1 += 2 * p * r / (p + r) if p + r > 0 else 0.0
            ordered = {key: values[key] for key in ORDER if key in values}
            ordered.update((key, value) for key, value in values.items() if key not in ordered)
            if samples:
                ordered.update(precision=100 * precision / samples, recall=100 * recall / samples,
                               f1=100 * f1 / samples)
            metrics[mode] = ordered
        return metrics
