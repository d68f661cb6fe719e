"""The grader registry: what each ``++eval_type`` declares and how its ``++eval_config`` is checked.

A grader is a ``Grader`` record: its name, a typed config schema (a dataclass; unknown keys and
wrong types are errors naming that grader), the fields it requires (``{generation_key}`` stands for
``++generation_key``), and how it runs:

- ``inline``: in the calling process (cheap rules: multiple choice, substring match);
- ``pool``: in the calling process, farming work out to a process pool it manages (math-verify);
- ``external``: in its own Python environment (``environment``: a name the cluster config maps to a
  virtualenv, e.g. BFCL's checker whose pins clash with ours); ``grade_file`` starts
  ``<env python> -m skills.evaluation.external`` on the file.

``sidecars`` names services grading needs (``sandbox``); ``separate_step`` asks ``ns eval`` to grade
in a job step of its own after generation instead of inside the generation program;
``default_generation_key`` is the field ``ns evaluate`` grades when ``--generation_key`` is not given
(IFBench's reference evaluator always reads ``response``). Built-in graders
are listed in ``BUILTIN``; benchmark packages declare theirs in ``EXTENSIONS["grader"]`` (see
``skills.registry``). Standard library only: external environments import this module too.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from skills.config.errors import UsageError
from skills.registry import Registry

RUN_MODES = ("inline", "pool", "external")
# Keys the reference pipeline passes to every evaluator (pipeline.md 3.1); accepted by every grader.
PIPELINE_KEYS = frozenset({"split", "data_dir", "input_file"})


@dataclass
class NoConfig:
    """Schema of graders without settings."""


@dataclass
class GradeContext:
    """What a grading function may need besides the rows and its config."""

    path: Optional[Path] = None
    generation_key: str = "generation"
    pipeline: Dict[str, Any] = field(default_factory=dict)  # split / data_dir / input_file when given
    resources: Dict[str, Any] = field(default_factory=dict)  # shared across files (e.g. a process pool)
    _closers: List[Callable[[], None]] = field(default_factory=list)

    def resource(self, key: str, factory: Callable[[], Any]) -> Any:
        """One instance per context (``ns evaluate`` grades many files with one pool)."""
        if key not in self.resources:
            obj = self.resources[key] = factory()
            close = getattr(obj, "close", None)
            if callable(close):
                self._closers.append(close)
        return self.resources[key]

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()


GradeFn = Callable[[List[dict], Any, GradeContext], None]


@dataclass(frozen=True)
class Grader:
    name: str
    grade: GradeFn  # adds its verdict fields to every row, in place
    config: type = NoConfig
    requires: Tuple[str, ...] = ("{generation_key}",)
    runs: str = "inline"
    environment: Optional[str] = None
    sidecars: Tuple[str, ...] = ()
    separate_step: bool = False
    check: Optional[GradeFn] = None  # extra checks before anything is graded (raise UsageError)
    summary: Optional[Callable[[List[dict]], Dict[str, int]]] = None  # counts shown by ns evaluate
    default_generation_key: str = "generation"  # field ns evaluate grades when --generation_key is not given

    def __post_init__(self) -> None:
        if self.runs not in RUN_MODES:
            raise ValueError(f"grader {self.name}: runs must be one of {RUN_MODES}")
        if self.runs == "external" and not self.environment:
            raise ValueError(f"grader {self.name}: an external grader names its environment")

    def required_fields(self, generation_key: str) -> Tuple[str, ...]:
        return tuple(f.replace("{generation_key}", generation_key) for f in self.requires)


BUILTIN = {
    "math": "skills.evaluation.builtin:MATH",
    "multichoice": "skills.evaluation.builtin:MULTICHOICE",
    "mcq": "skills.evaluation.builtin:MULTICHOICE",
}
GRADERS: Registry[Grader] = Registry("grader", "eval_type", builtins=BUILTIN)


def get_grader(name: str) -> Grader:
    grader = GRADERS.get(str(name))
    if not isinstance(grader, Grader):
        raise UsageError(f"eval_type '{name}' does not name a Grader (got {type(grader).__name__})")
    return grader


# ----------------------------------------------------------------------------- typed config
def _given(eval_config: Any) -> Dict[str, Any]:
    if eval_config is None:
        return {}
    if dataclasses.is_dataclass(eval_config) and not isinstance(eval_config, type):
        return dataclasses.asdict(eval_config)
    if isinstance(eval_config, Mapping) or hasattr(eval_config, "items"):
        return dict(eval_config.items())
    raise UsageError(f"eval_config must be a mapping, got {type(eval_config).__name__}")


def _type_ok(value: Any, tp: Any, positive: bool) -> bool:
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return value is None or any(_type_ok(value, a, positive) for a in args)
    if tp is Any:
        return True
    if tp is bool:
        return isinstance(value, bool)
    if tp in (int, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = ok and (tp is float or isinstance(value, int) or float(value).is_integer())
        return ok and (not positive or value > 0)
    if tp is str:
        return isinstance(value, str)
    if origin in (list, List, tuple, Tuple):
        return isinstance(value, (list, tuple))
    if origin in (dict, Dict) or tp is dict:
        return isinstance(value, Mapping)
    return True


def build_config(grader: Grader, eval_config: Any) -> Any:
    """Defaults + given values as the grader's config dataclass; a given None keeps the default.

    Unknown keys are typos and fail loudly; ``field(metadata={"positive": True})`` marks sizes and
    timeouts that must be > 0.
    """
    given = _given(eval_config)
    schema = grader.config
    hints = typing.get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema)}
    unknown = sorted(k for k in given if k not in fields and k not in PIPELINE_KEYS)
    if unknown:
        known = ", ".join(sorted(fields)) or "none"
        raise UsageError(f"unknown eval_config key {unknown[0]!r} for eval_type {grader.name}; known: {known}")
    values = {}
    for key, value in given.items():
        if key not in fields or value is None:
            continue
        positive = bool(fields[key].metadata.get("positive"))
        if not _type_ok(value, hints[key], positive):
            want = "a number > 0" if positive else getattr(hints[key], "__name__", str(hints[key]))
            raise UsageError(f"eval_config.{key} must be {want}, got {value!r}")
        values[key] = value
    return schema(**values)


def pipeline_keys(eval_config: Any) -> Dict[str, Any]:
    return {k: v for k, v in _given(eval_config).items() if k in PIPELINE_KEYS and v is not None}
