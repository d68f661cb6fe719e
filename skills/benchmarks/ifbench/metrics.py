"""Metric type ``if`` (IFBench, and NeMo-Skills' ``ifeval`` results): eval-metrics.md 8.

Strict and loose are two independent pass@k computations over the same rows, each with a binary
``prompt`` score (all instructions followed) and an ``instruction`` count (followed instructions;
pass@k takes the best of the first k unless every count is 0/1). The prompt accuracies divide by the
number of prompts, the instruction ones by ``num_instructions`` (instructions of the first file's
rows), both as the reference rounds them (divide, then times 100); ``average_score`` is their mean.
Statistics ``prompt_statistics`` / ``instruction_statistics`` pool the strict and the loose lists
(two per problem; instruction in raw counts), so no table cell gets a ``±``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from skills.config.errors import UsageError
from skills.metrics.base import Metrics, Scorer
from skills.metrics.stats import prefix_sample_stds

MODES = ("strict", "loose")
SCORES = ("prompt", "instruction")


class IFScorer(Scorer):
    compute_no_answer = False
    main_methods = ("prompt_strict_accuracy",)

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for mode in MODES:
            ev = prediction[f"{mode}_eval"]
            out[f"prompt_{mode}"] = ev["follow_all_instructions"]
            out[f"instruction_{mode}"] = sum(ev["follow_instruction_list"])
        return out

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        """Too long (``--max_seq_len``): no instruction followed, in both modes (the reference crashes)."""
        row = dict(prediction)
        for mode in MODES:
            ev = dict(row[f"{mode}_eval"])
            ev["follow_all_instructions"] = False
            ev["follow_instruction_list"] = [False] * len(ev["follow_instruction_list"])
            row[f"{mode}_eval"] = ev
        return row

    def evaluations_to_print(self, n: int) -> List[str]:
        return [f"pass@1[avg-of-{n}]", f"pass@{n}"]

    def problem_extras(self, preds) -> Optional[Dict[str, float]]:
        return {"instructions": len(preds[0]["instruction_id_list"])}

    def report_sum(self, total: float, num_entries: int) -> float:
        return total  # divided in finalize, by prompts or by instructions

    def _stat_contributions(self, preds, methods, scores, n, vals, kb) -> None:
        super()._stat_contributions(preds, (), scores, n, vals, kb)  # token statistics
        if n < 2:
            return
        for name in SCORES:
            lists = [scores[f"{name}_{mode}"] for mode in MODES]
            vals.append(len(lists))
            vals.extend(sum(s[i] for s in lists) for i in range(n))
            vals.extend(map(sum, zip(*(prefix_sample_stds(s) for s in lists))))
            if kb is not None:
                kb.append(("#cnt", name))
                kb.extend(("#run", name, i) for i in range(n))
                kb.extend(("#std", name, k) for k in range(2, n + 1))

    def finalize(self, metrics: Metrics, extras: Dict[str, float], num_entries: int) -> Metrics:
        instructions = int(extras.get("instructions", 0))
        if instructions == 0:
            raise UsageError("metric type if: the rows list no instructions (every instruction_id_list is empty)")
        out: Metrics = {}
        for mode, values in metrics.items():
            acc = {f"{s}_{m}": values.pop(f"{s}_{m}") / (num_entries if s == "prompt" else instructions) * 100.0
                   for m in MODES for s in SCORES}
            out[mode] = {
                "num_prompts": num_entries,
                "num_instructions": instructions,
                "average_score": (acc["prompt_strict"] + acc["instruction_strict"]
                                  + acc["prompt_loose"] + acc["instruction_loose"]) / 4,
                **{f"{s}_{m}_accuracy": acc[f"{s}_{m}"] for m in MODES for s in SCORES},
                **values,
            }
        return out
