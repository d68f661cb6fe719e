"""Metric types: name -> calculator, and which type a benchmark folder uses.

The type normally comes from the benchmark registry (``BenchmarkSpec.metrics_type``). Results
written by NeMo-Skills can contain benchmarks we do not ship; ``LEGACY_TYPES`` names their types so
old result folders can still be summarized, and ``--metric_type`` overrides everything.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional

from skills.config.errors import UsageError
from skills.metrics.base import Scorer
from skills.metrics.math_metrics import MathScorer

METRIC_TYPES: Dict[str, Callable[[], Scorer]] = {
    "math": MathScorer,
    "multichoice": MathScorer,
    "hle": lambda: MathScorer(compute_no_answer=False, answer_key="generation"),
}

# Reference metric types that this project cannot compute yet (clear error instead of KeyError).
PLANNED_TYPES = (
    "answer-judgement", "arena", "bfcl", "evalplus", "if", "ifbench", "lean4-proof",
    "lean4-statement", "livecodebench", "ruler", "scicode",
)

# Benchmarks of NeMo-Skills results that are not (yet) in our registry -> their metric type.
LEGACY_TYPES: Dict[str, str] = {
    **{
        name: "math"
        for name in (
            "hendrycks_math", "math", "gsm8k", "algebra222", "amc23", "aime24", "aime25", "asdiv",
            "brumo25", "college_math", "gaokao2023en", "gsm-plus", "hmmt_feb25", "math-odyssey",
            "mawps", "minerva_math", "olympiadbench", "omni-math", "svamp", "tabmwp", "beyond-aime",
        )
    },
    **{name: "multichoice" for name in ("mmlu", "mmlu-redux", "supergpqa", "gpqa", "mmlu-pro")},
    "hle": "hle",
    "answer-judge": "answer-judgement",
    "arena-hard": "arena",
    "human-eval": "evalplus",
    "mbpp": "evalplus",
    "ifeval": "if",
    "ifbench": "if",
    "minif2f": "lean4-proof",
    "livecodebench": "livecodebench",
    "scicode": "scicode",
}


def metric_type_for(benchmark: str, override: Optional[str] = None, extra_datasets: Optional[str] = None) -> str:
    """``--metric_type`` if given, else the registry's ``metrics_type`` (built-in or
    ``--extra_datasets`` folder), else the legacy table."""
    if override:
        return override
    try:
        from skills.benchmarks import get_benchmark

        return get_benchmark(benchmark, extra_datasets).metrics_type
    except (KeyError, ImportError, UsageError):
        pass
    if benchmark in LEGACY_TYPES:
        return LEGACY_TYPES[benchmark]
    raise UsageError(
        f"Unknown benchmark '{benchmark}': cannot tell its metric type. "
        f"Pass --metric_type (one of: {', '.join(sorted(METRIC_TYPES))})."
    )


def make_scorer(metric_type: str, benchmark: str = "") -> Scorer:
    factory = METRIC_TYPES.get(metric_type)
    if factory is not None:
        return factory()
    where = f" (benchmark '{benchmark}')" if benchmark else ""
    if metric_type in PLANNED_TYPES:
        raise UsageError(f"Metric type '{metric_type}'{where} is not supported yet; supported: "
                         f"{', '.join(sorted(METRIC_TYPES))}.")
    raise UsageError(f"Unknown metric type '{metric_type}'{where}; supported: {', '.join(sorted(METRIC_TYPES))}.")
