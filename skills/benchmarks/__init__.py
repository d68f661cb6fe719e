"""Benchmark registry: maps benchmark names to their modules, imported lazily.

``get_benchmark("aime24")`` returns the built-in module's ``BENCHMARK`` spec. Benchmarks can also
come from reference-style folders (``--extra_datasets DIR`` or ``$SKILLS_EXTRA_DATASETS`` /
``$NEMO_SKILLS_EXTRA_DATASETS``): ``DIR/<name>/__init__.py`` with upper-case constants
(``EVAL_SPLIT``, ``GENERATION_ARGS``, ``METRICS_TYPE``, ...), turned into a ``BenchmarkSpec`` so
the rest of the code sees one kind of benchmark. Built-ins win over extra folders.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import shlex
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional

from skills.benchmarks.base import BenchmarkSpec, JudgeDefaults
from skills.config.errors import UsageError

# benchmark name -> module under skills.benchmarks
BUILTIN: Dict[str, str] = {
    "math-500": "math_500",
    "aime24": "aime24",
    "aime25": "aime25",
    "gpqa": "gpqa",
    "mmlu-pro": "mmlu_pro",
    "hle": "hle",
}
EXTRA_ENVS = ("SKILLS_EXTRA_DATASETS", "NEMO_SKILLS_EXTRA_DATASETS")


def extra_datasets_dir(extra_datasets: Optional[str] = None) -> Optional[Path]:
    value = extra_datasets or next((os.environ[e] for e in EXTRA_ENVS if os.environ.get(e)), None)
    if value and not Path(value).is_dir():  # a typo would otherwise read as "unknown benchmark"
        source = "--extra_datasets" if extra_datasets else next(e for e in EXTRA_ENVS if os.environ.get(e))
        raise UsageError(f"{source} {value} is not a folder")
    return Path(value) if value else None


def _extra_names(folder: Optional[Path]) -> List[str]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.parent.name for p in folder.glob("*/__init__.py"))


def list_benchmarks(extra_datasets: Optional[str] = None) -> List[str]:
    return sorted(set(BUILTIN) | set(_extra_names(extra_datasets_dir(extra_datasets))))


def benchmark_module(name: str) -> ModuleType:
    """Import the module of a built-in benchmark (KeyError if unknown)."""
    return importlib.import_module(f"skills.benchmarks.{BUILTIN[name]}")


def _load_folder_module(path: Path, name: str) -> ModuleType:
    mod_name = "skills_extra_datasets." + name.replace("-", "_").replace(".", "_")
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load benchmark definition {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # user code: report, do not crash with a traceback
        raise UsageError(f"error in benchmark definition {path}: {type(exc).__name__}: {exc}") from None
    return module


def _args(value, where: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(shlex.split(value))
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    raise UsageError(f"{where}: expected a string of ++ overrides, got {type(value).__name__}")


def spec_from_module(module: ModuleType, name: str, where: str = "") -> BenchmarkSpec:
    """Reference-style constants -> BenchmarkSpec (a ``BENCHMARK`` attribute wins if present)."""
    if isinstance(getattr(module, "BENCHMARK", None), BenchmarkSpec):
        return module.BENCHMARK
    where = where or name
    g = lambda key, default=None: getattr(module, key, default)  # noqa: E731
    gen_args = _args(g("EVAL_ARGS"), where) + _args(g("GENERATION_ARGS"), where)
    judge = None
    jpa, judge_args = g("JUDGE_PIPELINE_ARGS"), _args(g("JUDGE_ARGS"), where)
    if jpa is not None or judge_args:
        jpa = dict(jpa or {})
        judge = JudgeDefaults(
            model=jpa.get("model"), server_type=jpa.get("server_type"),
            server_address=jpa.get("server_address"), args=judge_args,
        )
    eval_type = g("EVAL_TYPE")
    prompt = g("PROMPT_CONFIG")
    return BenchmarkSpec(
        name=name,
        eval_split=g("EVAL_SPLIT", "test"),
        prompt_config=prompt if prompt and not any(a.startswith(("++prompt_config=", "+prompt_config="))
                                                   for a in gen_args) else None,
        eval_type=eval_type if eval_type and not any("eval_type=" in a for a in gen_args) else None,
        metrics_type=g("METRICS_TYPE", "math"),
        generation_args=gen_args,
        num_samples=int(g("NUM_SAMPLES", 0) or 0),
        num_chunks=g("NUM_CHUNKS"),
        judge=judge,
        requires_sandbox=bool(g("REQUIRES_SANDBOX", False)),
        dataset_group=g("DATASET_GROUP"),
        generation_module=g("GENERATION_MODULE", "skills.inference.generate"),
        description=(module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else "",
    )


def get_benchmark(name: str, extra_datasets: Optional[str] = None) -> BenchmarkSpec:
    """Spec of a built-in or extra-folder benchmark; UsageError listing close names if unknown."""
    if name in BUILTIN:
        return benchmark_module(name).BENCHMARK
    folder = extra_datasets_dir(extra_datasets)
    if folder is not None:
        init = folder.joinpath(*name.split(".")) / "__init__.py"
        if init.is_file():
            return spec_from_module(_load_folder_module(init, name), name, str(init))
    known = list_benchmarks(extra_datasets)
    close = [k for k in known if k.lower() == name.lower()] or difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
    where = f" (also searched {folder})" if folder is not None else ""
    raise UsageError(f"unknown benchmark '{name}'{where}{hint}")


def is_builtin(name: str) -> bool:
    return name in BUILTIN
