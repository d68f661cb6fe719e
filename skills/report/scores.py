"""Per-row correctness for every metric type: what ``ns report`` and ``ns compare`` call "correct".

An ``Extractor`` maps one result row to its score methods (``{"symbolic_correct": 1.0, ...}``,
floats in [0, 1]) and names the main one. Every metric type with a registered ``Scorer`` (built-in
or a benchmark package's plug-in, ``skills.metrics.types``) derives the methods from its
``score_dict``, so a problem counts as correct here exactly when the summary tables count it;
types known from NeMo-Skills results but without a scorer here read their grader's field directly
(``ROW_EXTRACTORS``). The main method: the scorer's ``main_methods`` (first one present), else the
first method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

from skills.config.errors import UsageError

Row = Mapping[str, Any]
Methods = Callable[[Row], Dict[str, float]]

# Metric types of NeMo-Skills results without a scorer here: their graders' fields (eval-metrics.md).
ROW_EXTRACTORS: Dict[str, Methods] = {}


@dataclass(frozen=True)
class Extractor:
    metric_type: str
    methods: Methods
    main_order: Tuple[str, ...] = ()
    answer_key: str = "predicted_answer"

    def main_method(self, methods: Sequence[str]) -> str:
        """The main method among those a benchmark's rows have (else the first one)."""
        for m in self.main_order:
            if m in methods:
                return m
        if not methods:
            raise UsageError(f"Rows of metric type '{self.metric_type}' have no score fields (not graded?)")
        return methods[0]


def _from_scorer(metric_type: str) -> Optional[Extractor]:
    """From the metric type's registered ``Scorer`` (built-in or a benchmark package's plug-in)."""
    from skills.metrics.types import make_scorer

    try:
        scorer = make_scorer(metric_type)
    except UsageError:  # unknown, or planned but without a scorer yet
        return None
    if not scorer.row_scores:  # e.g. Arena-Hard's win rate: no row is correct on its own
        return None

    def methods(row: Row) -> Dict[str, float]:
        out: Dict[str, float] = {}
        for name, value in scorer.score_dict(dict(row)).items():
            if value is None or isinstance(value, (bool, int, float)) and 0 <= value <= 1:
                out[name] = float(value or 0)
        return out

    return Extractor(metric_type, methods, tuple(scorer.main_methods))


def extractor_for(metric_type: str) -> Extractor:
    """The extractor of a metric type; a type nobody knows how to score is a UsageError."""
    ex = _from_scorer(metric_type)
    if ex is not None:
        return ex
    if metric_type in ROW_EXTRACTORS:
        return Extractor(metric_type, ROW_EXTRACTORS[metric_type])
    raise UsageError(f"Metric type '{metric_type}' has no correctness extractor for reports and comparisons")


def score_row(ex: Extractor, row: Row, where: str) -> Dict[str, float]:
    """``ex.methods(row)`` with a clear error naming the file and line for ungraded rows."""
    try:
        return ex.methods(row)
    except (KeyError, IndexError, TypeError) as exc:
        raise UsageError(f"{where}: cannot score the row as '{ex.metric_type}' ({type(exc).__name__}: {exc})") from None
