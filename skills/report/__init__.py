"""Reports and comparisons of evaluation results (docs/report.md).

Modules: ``scores`` (what "correct" means per metric type), ``runs`` (a results folder as
per-problem data), ``stats`` (paired bootstrap, exact McNemar, intervals), ``compare``
(``python -m skills.report.compare``, behind ``ns compare``), ``figures`` (plotly figures),
``page`` (the self-contained HTML), ``build`` (``python -m skills.report``, behind ``ns report``).
"""
