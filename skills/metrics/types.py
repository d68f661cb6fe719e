"""Metric types: name -> scorer factory (a registry), and which type a benchmark folder uses.

The type normally comes from the benchmark registry (``BenchmarkSpec.metrics_type``). Results
written by NeMo-Skills can contain benchmarks we do not ship; ``LEGACY_TYPES`` names their types so
old result folders can still be summarized, and ``--metric_type`` overrides everything. Metric
types are plug-ins: the core's below, a benchmark package's ``EXTENSIONS["metrics"]``, or a
``module:attribute`` path naming a ``Scorer`` subclass or factory (see ``skills.metrics.base``).
"""

from __future__ import annotations

from typing import Callable, Dict, Optional

from skills.config.errors import UsageError
from skills.metrics.base import Scorer
from skills.registry import Registry

METRIC_TYPES: Registry[Callable[[], Scorer]] = Registry("metrics", "metric type", builtins={
    "math": "skills.metrics.math_metrics:MathScorer",
    "multichoice": "skills.metrics.math_metrics:MathScorer",
    "translation": "skills.metrics.translation:TranslationScorer",
})

# Reference metric types that this project cannot compute yet (clear error instead of KeyError).
PLANNED_TYPES = ("lean4-proof", "lean4-statement")

# Benchmarks of NeMo-Skills results that are not in our registry -> their metric type (a benchmark
# the registry knows takes its type from there, so only names without a package belong here).
LEGACY_TYPES: Dict[str, str] = {
    **{
        name: "math"
        for name in ("math", "tabmwp")
    },
    "minif2f": "lean4-proof",
}


def metric_type_for(benchmark: str, override: Optional[str] = None, extra_datasets: Optional[str] = None,
                    data_dir: Optional[str] = None) -> str:
    """``--metric_type`` if given, else the registry's ``metrics_type`` (built-in, group member, or
    ``--extra_datasets`` / data dir folder), else the legacy table."""
    if override:
        return override
    try:
        from skills.registry.benchmarks import get_benchmark

        return get_benchmark(benchmark, extra_datasets, data_dir).metrics_type
    except (KeyError, ImportError, UsageError):
        pass
    if benchmark in LEGACY_TYPES:
        return LEGACY_TYPES[benchmark]
    raise UsageError(
        f"Unknown benchmark '{benchmark}': cannot tell its metric type. "
        f"Pass --metric_type (one of: {', '.join(METRIC_TYPES.names())})."
    )


def make_scorer(metric_type: str, benchmark: str = "", **kwargs) -> Scorer:
    """A scorer; ``kwargs`` (``--metrics_kwargs``) go to its constructor, as in the reference."""
    factory = METRIC_TYPES.find(metric_type)
    if factory is not None:
        try:
            scorer = factory(**kwargs)
        except TypeError as exc:
            raise UsageError(f"--metrics_kwargs {kwargs} do not fit metric type '{metric_type}': {exc}") from None
        if not isinstance(scorer, Scorer):
            raise UsageError(f"metric type '{metric_type}' did not give a Scorer (got {type(scorer).__name__})")
        return scorer
    where = f" (benchmark '{benchmark}')" if benchmark else ""
    supported = ", ".join(METRIC_TYPES.names())
    if metric_type in PLANNED_TYPES:
        raise UsageError(f"Metric type '{metric_type}'{where} is not supported yet; supported: {supported}.")
    raise UsageError(f"Unknown metric type '{metric_type}'{where}; supported: {supported}.")
