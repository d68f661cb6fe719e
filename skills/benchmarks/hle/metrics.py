"""HLE's metric type ``hle``: math metrics without ``no_answer``, majority votes on the whole
generation (eval-metrics.md 5); the judge's verdict is the score."""

from skills.metrics.math_metrics import MathScorer


def hle_scorer(**kwargs) -> MathScorer:
    return MathScorer(**{"compute_no_answer": False, "answer_key": "generation", **kwargs})
