"""Metric type ``translation`` (FLORES-200, WMT24++): corpus BLEU per language pair, and averages.

As the reference (``translation_metrics.py``): every row of every seed file goes into the corpus of
its pair ``<source_language>-><target_language>`` (so n seeds give one BLEU over n copies of the
test set, not an average of n BLEUs); each pair gets ``{"bleu": ...}``, then the plain means of
the pair BLEUs ``xx->xx`` (all pairs), ``<src>->xx`` and ``xx-><tgt>``, in first-appearance order.
The table has one row per pair and average, one ``bleu`` column with two decimals. Only BLEU:
the reference has no COMET or MetricX at its pinned commit.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from skills.config.errors import UsageError
from skills.metrics.base import Metrics, Scorer
from skills.metrics.bleu import corpus_bleu_scores, tokenizer_for


class TranslationScorer(Scorer):
    corpus_level = True
    main_methods = ("bleu",)

    def __init__(self) -> None:
        super().__init__()
        self._modes: List[str] = []

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        """BLEU is a corpus score: a single row is neither right nor wrong (``ns report`` / ``ns compare``)."""
        raise UsageError("metric type translation scores whole corpora (BLEU): there is no per-row correctness "
                         "to report or compare")

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        """A generation over ``--max_seq_len`` scores as an empty translation."""
        return {**prediction, "generation": ""}

    def corpus_metrics(self, benchmark: str, problems: Iterable[List[Dict[str, Any]]]) -> Dict[str, Metrics]:
        corpora: Dict[str, Dict[str, List[str]]] = {}
        for rows in problems:
            for row in rows:
                key = f"{row['source_language']}->{row['target_language']}"
                corpus = corpora.setdefault(key, {"preds": [], "gts": []})
                corpus["preds"].append(row["generation"])
                corpus["gts"].append(row["translation"])
        keys = list(corpora)
        scores = corpus_bleu_scores([(corpora[k]["preds"], corpora[k]["gts"], tokenizer_for(k.split("->")[1]))
                                     for k in keys])
        metrics: Metrics = {}
        groups: Dict[str, List[float]] = {}
        for key, bleu in zip(keys, scores):
            src, tgt = key.split("->")
            metrics[key] = {"bleu": bleu}
            for group in ("xx->xx", f"{src}->xx", f"xx->{tgt}"):
                groups.setdefault(group, []).append(bleu)
        for group, values in groups.items():
            metrics[group] = {"bleu": sum(values) / len(values)}
        self._modes = list(dict.fromkeys(self._modes + list(metrics)))
        return {benchmark: metrics} if metrics else {}

    def evaluations_to_print(self, n: int) -> List[str]:
        return list(self._modes)

    def metrics_to_print(self) -> Optional[Dict[str, str]]:
        return {"bleu": "float"}
