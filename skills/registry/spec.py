"""What a benchmark declares: defaults for generation, grading, metrics, judging and data prep.

One package per benchmark: ``skills/benchmarks/<name>/__init__.py`` defines ``BENCHMARK`` (a
``BenchmarkSpec``) and optionally ``EXTENSIONS`` (its graders, metric types, generation programs,
group scores, sidecars; see ``skills.registry``) and ``member(name, data_dir)`` (specs of group
members such as ``bfcl_v3.simple``); ``prepare.py`` holds ``prepare(ctx)`` when there is data to fetch.
``skills.registry.benchmarks`` finds them by name (``math-500`` -> ``math_500``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple


@dataclass(frozen=True)
class JudgeDefaults:
    """The LLM judge a benchmark uses unless ``--judge_*`` options say otherwise."""

    model: Optional[str] = None
    server_type: Optional[str] = None  # openai | vllm | sglang | trtllm
    server_address: Optional[str] = None
    args: Tuple[str, ...] = ()  # judge generation overrides, e.g. ("++prompt_config=judge/hle", ...)
    # the judge's program as the reference names it (JUDGE_PIPELINE_ARGS "generation_type"): "math_judge"
    # runs skills.inference.math_judge; None runs the generation program with ``args``
    generation_type: Optional[str] = None
    generation_module: Optional[str] = None  # the judge's program (default: the plain generation module)


@dataclass(frozen=True)
class GradingInput:
    """A file the grader reads besides the generations (e.g. SciCode's numeric targets), checked
    when a run is planned: a missing one fails in seconds, not after hours of generation."""

    path: str  # relative to the data folder, e.g. "scicode/test_data.h5" (a file, or a folder with `contains`)
    setting: Optional[str] = None  # ++eval_config.<setting> names another one instead
    hint: str = ""  # how to get it, e.g. "run `ns prepare_data scicode`"
    contains: Tuple[str, ...] = ()  # a folder: what must be in it (e.g. NLTK resources)
    env: Optional[str] = None  # a search-path variable whose entries also serve (e.g. NLTK_DATA)


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    eval_split: str = "test"
    prompt_config: Optional[str] = None
    eval_type: Optional[str] = None  # grader run after generation (math | multichoice | ...)
    metrics_type: str = "math"  # metrics calculator used by summarize_results
    generation_args: Tuple[str, ...] = ()  # extra ++ overrides, before the user's
    num_samples: int = 0  # seeds when given without ':N'
    num_chunks: Optional[int] = None
    judge: Optional[JudgeDefaults] = None
    requires_sandbox: bool = False
    sidecars: Tuple[str, ...] = ()  # services started next to each job (registry "sidecar"), e.g. "sandbox"
    dataset_group: Optional[str] = None  # math | multichoice | code | chat | tool | long-context
    group: Optional[str] = None  # parent group (bfcl_v3, ruler.<setup>) for member benchmarks
    is_group: bool = False
    members: Tuple[str, ...] = ()  # member benchmark names when is_group
    # reference-style groups: member -> attribute overrides (EVAL_SPLIT, GENERATION_ARGS, ...)
    member_overrides: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    score_module: Optional[str] = None  # group score (registry "group_score" name or module[:attr])
    generation_module: str = "skills.inference.generate"
    large_data: bool = False  # `ns prepare_data` wants an explicit --data_dir (or --skip_data_dir_check)
    grading_inputs: Tuple[GradingInput, ...] = ()  # files grading needs, checked at plan time

    def all_sidecars(self) -> Tuple[str, ...]:
        """Sidecars of every job running this benchmark (``requires_sandbox`` means "sandbox")."""
        names = list(self.sidecars)
        if self.requires_sandbox and "sandbox" not in names:
            names.append("sandbox")
        return tuple(names)

    def default_overrides(self) -> Tuple[str, ...]:
        """Overrides the benchmark contributes to its generation command (user args come after)."""
        out = []
        if self.prompt_config:
            out.append(f"++prompt_config={self.prompt_config}")
        if self.eval_type:
            out.append(f"++eval_type={self.eval_type}")
        out.extend(self.generation_args)
        return tuple(out)


@dataclass
class PrepareContext:
    """Inputs of a benchmark's ``prepare`` function."""

    data_dir: Path  # writes <data_dir>/<benchmark>/<split>.jsonl
    mirror: Optional[Path] = None  # local folder laid out like upstream (air-gapped clusters, CI)
    split: Optional[str] = None
    extra: Dict[str, str] = field(default_factory=dict)  # benchmark-specific flags

