"""AA-LCR's metric type ``aalcr`` (the reference's ``AALCRMetrics``).

A prediction with a ``judgement`` scores ``generation_valid`` (non-blank generation) and
``judge_correct`` (valid, and the judge's reply, stripped and upper-cased, starts with ``CORRECT``).
pass@k, pass@1[avg-of-k] and majority@k (votes on the whole generation) as for math; ``no_answer``
counts missing generations. Per document category, from each problem's FIRST file as the reference:
``<category>_accuracy`` in every mode and, in ``pass@1[avg-of-n]``, ``category_breakdown`` (accuracy
per score method, samples, input-token mean/min/max). The table shows judge_correct, num_entries,
avg_tokens and no_answer; before the tables, summarize prints the reference's two analyses (per
category; accuracy by input length in buckets <80k, 80k-100k, 100k-110k, 110k-128k, 128k+).

Deviation: the reference sets ``<category>_accuracy`` to whichever score method it met last with a
non-zero count, so a category with no correct answer reports its generation_valid rate; here it is
always judge_correct (0 when none), the number its name promises. No published number reads it.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence

from skills.metrics.base import Metrics
from skills.metrics.math_metrics import MathScorer

_PASS = re.compile(r"pass@(\d+)")


BUCKETS = ("<80k", "80k-100k", "100k-110k", "110k-128k", "128k+")
_BUCKET_LIMITS = ((80000, "<80k"), (100000, "80k-100k"), (110000, "100k-110k"), (128000, "110k-128k"))


def token_bucket(tokens: int) -> str:
    return next((name for limit, name in _BUCKET_LIMITS if tokens < limit), "128k+")


def category_table(breakdown: Dict[str, Dict[str, Any]]) -> List[str]:
    """The reference's "AA-LCR Category Breakdown" printout (first files only)."""
    widths = [max([len("Category")] + [len(c) for c in breakdown]), 8, 10, 12, 15]
    total = sum(widths) + 3 * len(widths) - 3
    headers = ["Category", "Samples", "Accuracy", "Avg Tokens", "Token Range"]
    lines = ["", "=" * total, " AA-LCR Category Breakdown ".center(total), "=" * total,
             " | ".join(h.ljust(w) for h, w in zip(headers, widths)), "-" * total]
    for category, stats in breakdown.items():
        low, high = stats.get("min_input_tokens", 0), stats.get("max_input_tokens", 0)
        cells = [category, str(stats.get("total_samples", 0)), f"{stats.get('judge_correct', 0):.2f}%",
                 str(stats.get("avg_input_tokens", 0)), f"{low}-{high}" if low and high else "N/A"]
        lines.append(" | ".join(c.ljust(w) for c, w in zip(cells, widths)))
    return lines + ["=" * total, ""]


def bucket_table(extras: Dict[str, float]) -> List[str]:
    """The reference's "Accuracy vs Token Length Analysis" printout (first files only)."""
    counts: Dict[str, Dict[str, List[float]]] = {}
    for key, value in extras.items():
        kind, _, rest = key.partition("\t")
        if kind in ("bucket", "bucket_ok"):
            category, bucket = rest.split("\t")
            slot = counts.setdefault(category, {}).setdefault(bucket, [0.0, 0.0])
            slot[0 if kind == "bucket" else 1] += value
    if not counts:
        return []
    widths = [max([len("Category")] + [len(c) for c in counts])] + [12] * len(BUCKETS)
    total = sum(widths) + 3 * len(widths) - 3

    def cell(n: float, ok: float) -> str:
        return f"{100 * ok / n:.1f}% ({int(n)})" if n else "N/A (0)"

    lines = ["=" * total, " Accuracy vs Token Length Analysis ".center(total), "=" * total,
             "Category".ljust(widths[0]) + " | " + " | ".join(b.ljust(12) for b in BUCKETS),
             "".ljust(widths[0]) + " | " + " | ".join("Acc% (#)".ljust(12) for _ in BUCKETS), "-" * total]
    for category, buckets in counts.items():
        lines.append(" | ".join([category.ljust(widths[0])] + [cell(*buckets.get(b, [0.0, 0.0])).ljust(12)
                                                               for b in BUCKETS]))
    lines.append("-" * total)
    sums = [[sum(counts[c].get(b, [0.0, 0.0])[i] for c in counts) for i in (0, 1)] for b in BUCKETS]
    lines.append(" | ".join(["OVERALL".ljust(widths[0])] + [cell(*s).ljust(12) for s in sums]))
    return lines + ["=" * total, ""]


def is_aalcr_correct(judgement: Any) -> bool:
    if judgement is None:
        return False
    return str(judgement).strip().upper().startswith("CORRECT")


class AALCRScorer(MathScorer):
    main_methods = ("judge_correct",)

    def __init__(self) -> None:
        super().__init__(compute_no_answer=True, answer_key="generation")
        self._tokens: Dict[str, List[int]] = {}

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        if "judgement" not in prediction:
            return {}
        valid = len((prediction["generation"] or "").strip()) > 0
        return {"generation_valid": valid, "judge_correct": valid and is_aalcr_correct(prediction["judgement"])}

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {**prediction, "judgement": "INCORRECT", "predicted_answer": None}

    def metrics_to_print(self) -> Optional[Dict[str, str]]:
        return {"judge_correct": "percent", "num_entries": "int", "avg_tokens": "int", "no_answer": "percent"}

    def evaluations_to_print(self, n: int) -> List[str]:
        return [f"pass@1[avg-of-{n}]", f"majority@{n}", f"pass@{n}"] if n > 1 else ["pass@1"]

    def problem_extras(self, preds: Sequence[Dict[str, Any]]) -> Dict[str, float]:
        first = preds[0]
        category = first.get("document_category", "unknown")
        out = {f"total\t{category}": 1.0}
        for method, value in self.score_dict(first).items():
            out[f"{method}\t{category}"] = float(bool(value))
        if first.get("input_tokens") is not None:
            tokens = int(first["input_tokens"])
            self._tokens.setdefault(category, []).append(tokens)
            bucket = token_bucket(tokens)
            out[f"bucket\t{category}\t{bucket}"] = 1.0
            out[f"bucket_ok\t{category}\t{bucket}"] = out.get(f"judge_correct\t{category}", 0.0)
        return out

    def finalize(self, metrics: Metrics, extras: Dict[str, float], num_entries: int) -> Metrics:
        tokens, self._tokens = self._tokens, {}
        categories = [key.split("\t", 1)[1] for key in extras if key.startswith("total\t")]
        if not categories:
            return metrics
        breakdown: Dict[str, Dict[str, Any]] = {}
        for category in categories:
            total = extras[f"total\t{category}"]
            entry: Dict[str, Any] = {}
            for method in ("generation_valid", "judge_correct"):
                count = extras.get(f"{method}\t{category}", 0.0)
                if count:  # the reference lists only methods with a correct prediction
                    entry[method] = 100.0 * count / total
            accuracy = 100.0 * extras.get(f"judge_correct\t{category}", 0.0) / total
            for mode in metrics.values():
                mode[f"{category}_accuracy"] = accuracy
            entry["total_samples"] = int(total)
            values = tokens.get(category)
            if values:
                entry.update(avg_input_tokens=int(sum(values) / len(values)), max_input_tokens=max(values),
                             min_input_tokens=min(values))
            breakdown[category] = entry
        self._printed = category_table(breakdown) + bucket_table(extras)
        n = max((int(m.group(1)) for m in map(_PASS.fullmatch, metrics) if m), default=1)
        main = metrics.get(f"pass@1[avg-of-{n}]")
        if main is not None:
            main["category_breakdown"] = breakdown
        return metrics
