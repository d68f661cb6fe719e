"""Benchmark registry: names -> ``BenchmarkSpec``, from packages found by name, imported lazily.

Where a name is looked up, in order:

1. a built-in package ``skills.benchmarks.<name with - as _>`` (``math-500`` -> ``math_500``) whose
   ``BENCHMARK.name`` is that name. Dotted names (``bfcl_v3.simple``, ``ruler.<setup>.<task>``)
   ask the package of their first part through its ``member(name, data_dir)`` function;
2. reference-style folders: ``<folder>/<name with . as />/__init__.py`` with upper-case constants
   (``EVAL_SPLIT``, ``GENERATION_ARGS``, ``METRICS_TYPE``, ``IS_BENCHMARK_GROUP``, ...) in the
   ``--extra_datasets`` folder (or ``$SKILLS_EXTRA_DATASETS`` / ``$NEMO_SKILLS_EXTRA_DATASETS``),
   then in the data dir (where data preparation writes generated definitions such as RULER's).

Adding a benchmark family means adding a package; nothing here changes.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import os
import shlex
from pathlib import Path
from types import ModuleType
from typing import Callable, Dict, List, Optional

from skills.config.errors import UsageError
from skills.registry import FAMILIES, family_packages
from skills.registry.spec import BenchmarkSpec, JudgeDefaults

EXTRA_ENVS = ("SKILLS_EXTRA_DATASETS", "NEMO_SKILLS_EXTRA_DATASETS")


def extra_datasets_dir(extra_datasets: Optional[str] = None) -> Optional[Path]:
    value = extra_datasets or next((os.environ[e] for e in EXTRA_ENVS if os.environ.get(e)), None)
    if value and not Path(value).is_dir():  # a typo would otherwise read as "unknown benchmark"
        source = "--extra_datasets" if extra_datasets else next(e for e in EXTRA_ENVS if os.environ.get(e))
        raise UsageError(f"{source} {value} is not a folder")
    return Path(value) if value else None


# ----------------------------------------------------------------------------- built-in packages
def _package(head: str) -> str:
    return head.replace("-", "_")


def builtin_module(name: str) -> Optional[ModuleType]:
    """The package defining ``name`` (or the group its first dotted part names), else None."""
    head = name.split(".", 1)[0]
    pkg = _package(head)
    if not pkg.isidentifier() or importlib.util.find_spec(f"{FAMILIES}.{pkg}") is None:
        return None
    module = importlib.import_module(f"{FAMILIES}.{pkg}")
    spec = getattr(module, "BENCHMARK", None)
    return module if isinstance(spec, BenchmarkSpec) and spec.name == head else None


def builtin_names() -> List[str]:
    names = []
    for pkg in family_packages():
        spec = getattr(importlib.import_module(f"{FAMILIES}.{pkg}"), "BENCHMARK", None)
        if isinstance(spec, BenchmarkSpec):
            names.append(spec.name)
    return sorted(names)


def is_builtin(name: str) -> bool:
    return builtin_module(name) is not None


def prepare_function(name: str) -> Optional[Callable]:
    """``prepare(ctx)`` of a built-in benchmark (None when it has no data to prepare)."""
    module = builtin_module(name)
    if module is None or importlib.util.find_spec(f"{module.__name__}.prepare") is None:
        return None
    return getattr(importlib.import_module(f"{module.__name__}.prepare"), "prepare", None)


# ----------------------------------------------------------------------------- reference-style folders
def _extra_names(folder: Optional[Path]) -> List[str]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.parent.name for p in folder.glob("*/__init__.py"))


def list_benchmarks(extra_datasets: Optional[str] = None) -> List[str]:
    return sorted(set(builtin_names()) | set(_extra_names(extra_datasets_dir(extra_datasets))))


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


# reference module constant -> BenchmarkSpec field (for group member overrides)
CONSTANT_FIELDS = {
    "EVAL_SPLIT": "eval_split", "METRICS_TYPE": "metrics_type", "NUM_SAMPLES": "num_samples",
    "NUM_CHUNKS": "num_chunks", "REQUIRES_SANDBOX": "requires_sandbox", "GENERATION_MODULE": "generation_module",
    "DATASET_GROUP": "dataset_group",
}


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
            generation_type=jpa.get("generation_type"),
            generation_module=jpa.get("generation_module"),
        )
    eval_type = g("EVAL_TYPE")
    prompt = g("PROMPT_CONFIG")
    members = g("BENCHMARKS") or {}
    if not isinstance(members, dict):
        raise UsageError(f"{where}: BENCHMARKS must be a dict of member name -> overrides")
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
        sidecars=tuple(g("SIDECARS", ()) or ()),
        dataset_group=g("DATASET_GROUP"),
        is_group=bool(g("IS_BENCHMARK_GROUP", False)),
        members=tuple(members),
        member_overrides={k: dict(v or {}) for k, v in members.items()},
        score_module=g("SCORE_MODULE"),
        generation_module=g("GENERATION_MODULE", "skills.inference.generate"),
    )


def _folder_spec(folder: Optional[Path], name: str) -> Optional[BenchmarkSpec]:
    if folder is None:
        return None
    init = folder.joinpath(*name.split(".")) / "__init__.py"
    if not init.is_file():
        return None
    return spec_from_module(_load_folder_module(init, name), name, str(init))


# ----------------------------------------------------------------------------- lookup
def get_benchmark(name: str, extra_datasets: Optional[str] = None,
                  data_dir: Optional[str] = None) -> BenchmarkSpec:
    """Spec of a benchmark or group member; UsageError listing close names if unknown."""
    module = builtin_module(name)
    if module is not None:
        if "." not in name:
            return module.BENCHMARK
        member = getattr(module, "member", None)
        spec = member(name, Path(data_dir) if data_dir else None) if member else None
        if spec is not None:
            return spec
    folder = extra_datasets_dir(extra_datasets)
    for where in (folder, Path(data_dir) if data_dir else None):
        spec = _folder_spec(where, name)
        if spec is not None:
            return spec
    if module is not None:
        raise UsageError(f"unknown member '{name}' of benchmark group '{module.BENCHMARK.name}'"
                         + (f"; members: {', '.join(module.BENCHMARK.members)}" if module.BENCHMARK.members else ""))
    known = list_benchmarks(extra_datasets)
    close = [k for k in known if k.lower() == name.lower()] or difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
    searched = [str(p) for p in (folder, data_dir) if p]
    where = f" (also searched {', '.join(searched)})" if searched else ""
    raise UsageError(f"unknown benchmark '{name}'{where}{hint}")


# ----------------------------------------------------------------------------- dataset groups
# The reference's DATASET_GROUP values (``prepare_data --dataset_groups`` accepts the first six).
DATASET_GROUPS = ("math", "code", "chat", "multichoice", "long-context", "tool", "lean4", "speechlm")


def is_dataset_group(name: str, extra_datasets: Optional[str] = None) -> bool:
    """``name`` names a dataset group (``math``, ``code``, ...) and no benchmark."""
    if builtin_module(name) is not None or _folder_spec(extra_datasets_dir(extra_datasets), name) is not None:
        return False
    return name in DATASET_GROUPS or bool(dataset_group_members(name, extra_datasets))


def dataset_group_members(group: str, extra_datasets: Optional[str] = None) -> List[str]:
    """The benchmarks (built-in and ``--extra_datasets`` folders) whose ``dataset_group`` is ``group``,
    sorted. Membership is each benchmark's own declaration, as in the reference: a new benchmark joins
    its group by saying so, and a group never lists a member that is not installed. Groups whose
    members are generated (RULER's setups) are left out: they are named one by one."""
    out = []
    for name in list_benchmarks(extra_datasets):
        spec = get_benchmark(name, extra_datasets)
        if spec.dataset_group == group and not (spec.is_group and not spec.members):
            out.append(name)
    return out


def group_members(group: BenchmarkSpec, extra_datasets: Optional[str] = None,
                  data_dir: Optional[str] = None) -> List[BenchmarkSpec]:
    """Specs of a group's members, with the group's per-member overrides applied."""
    if not group.members:
        raise UsageError(f"benchmark group '{group.name}' has no members"
                         + (f" in {data_dir}" if data_dir else "") + "; was its data prepared?")
    out = []
    for member in group.members:
        spec = _member_spec(group.name, member, extra_datasets, data_dir)
        where = f"{group.name}.BENCHMARKS[{member}]"
        changes: Dict[str, object] = {"group": group.name}
        overrides = group.member_overrides.get(member, {})
        for key, value in overrides.items():
            if key in ("GENERATION_ARGS", "EVAL_ARGS"):
                changes["generation_args"] = _args(value, where)
            elif key in CONSTANT_FIELDS:
                changes[CONSTANT_FIELDS[key]] = value
        if "JUDGE_ARGS" in overrides or "JUDGE_PIPELINE_ARGS" in overrides:  # as the reference: replaced, not merged
            judge = spec.judge or JudgeDefaults()
            jpa = overrides.get("JUDGE_PIPELINE_ARGS")
            if jpa is not None:
                jpa = dict(jpa)
                judge = dataclasses.replace(judge, model=jpa.get("model"), server_type=jpa.get("server_type"),
                                            server_address=jpa.get("server_address"))
            if "JUDGE_ARGS" in overrides:
                judge = dataclasses.replace(judge, args=_args(overrides["JUDGE_ARGS"], where))
            changes["judge"] = judge
        out.append(dataclasses.replace(spec, **changes))
    return out


def _member_spec(group: str, member: str, extra_datasets: Optional[str], data_dir: Optional[str]) -> BenchmarkSpec:
    """A member named under its group (``bfcl_v3.simple``, or ``simple`` for it), else a benchmark of
    its own name (the reference looks members up by their name: ``aai`` lists ``gpqa``, ``hle``, ...)."""
    if member.startswith(group + "."):
        return get_benchmark(member, extra_datasets, data_dir)
    try:
        return get_benchmark(f"{group}.{member}", extra_datasets, data_dir)
    except UsageError:
        return get_benchmark(member, extra_datasets, data_dir)


__all__ = ["DATASET_GROUPS", "BenchmarkSpec", "builtin_module", "builtin_names", "dataset_group_members",
           "extra_datasets_dir", "get_benchmark", "group_members", "is_builtin", "is_dataset_group",
           "list_benchmarks", "prepare_function", "spec_from_module"]
