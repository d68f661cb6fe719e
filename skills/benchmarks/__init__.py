"""Benchmark registry: maps benchmark names to their modules, imported lazily.

``get_benchmark("aime24")`` returns the module's ``BENCHMARK`` spec. Extra benchmark folders
(``--extra_datasets``) are handled by ``skills.benchmarks.registry`` helpers added by the CLI layer.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Dict, List

from skills.benchmarks.base import BenchmarkSpec

# benchmark name -> module under skills.benchmarks
BUILTIN: Dict[str, str] = {
    "math-500": "math_500",
    "aime24": "aime24",
    "aime25": "aime25",
    "gpqa": "gpqa",
    "mmlu-pro": "mmlu_pro",
    "hle": "hle",
}


def list_benchmarks() -> List[str]:
    return sorted(BUILTIN)


def benchmark_module(name: str) -> ModuleType:
    """Import the module of a built-in benchmark (KeyError if unknown)."""
    return importlib.import_module(f"skills.benchmarks.{BUILTIN[name]}")


def get_benchmark(name: str) -> BenchmarkSpec:
    return benchmark_module(name).BENCHMARK
