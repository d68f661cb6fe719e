"""Metrics of evaluation results and the ``summarize`` program (docs/metrics.md).

Modules: ``stats`` (numeric helpers), ``base`` (pass@k / avg-of-k / statistics machinery and the
per-subset ``Calculator``), ``math_metrics`` (math, multichoice, hle), ``types`` (metric type of a
benchmark), ``compute`` (lockstep reading of one benchmark), ``table`` (text tables), ``groups``
(dot-name groups), ``summarize`` (``python -m skills.metrics.summarize``).
"""
