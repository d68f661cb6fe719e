"""RULER: 13 synthetic long-context tasks, generated per model tokenizer and context length.

``ns prepare_data ruler --setup NAME --tokenizer_path TOK --max_seq_length N`` runs RULER's own
generators (NVIDIA/RULER at the reference's commit, fetched into the data dir, see ``upstream``; in
the ``ruler`` environment) and writes
``<data_dir>/ruler/NAME/<task>/test.jsonl`` plus reference-style definitions: the group
``ruler.NAME`` and its members ``ruler.NAME.<task>``. Those files in the data dir win; without them
(``ns summarize_results`` on a results folder alone) ``member`` below defines every ``ruler.*`` name
from the tables here, which are the reference's. Standard library only: every lookup imports this.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Tuple

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="ruler",
    is_group=True,
    metrics_type="ruler",
    dataset_group="long-context",
    large_data=True,
)

TASKS = ("niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1", "niah_multikey_2",
         "niah_multikey_3", "niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe", "qa_1", "qa_2")
# Per task family (the name before its first "_"), as the reference's definitions set them.
TOKENS_TO_GENERATE = {"niah": 128, "vt": 30, "cwe": 120, "fwe": 50, "qa": 32}
MATCH_TYPE = {"niah": "all", "vt": "all", "cwe": "all", "fwe": "all", "qa": "part"}
# The group score module the reference writes into prepared data dirs; registered as an alias of
# ours so that data dirs prepared by either tool score the same way.
SCORE_MODULE = "nemo_skills.dataset.ruler.ruler_score"
SETUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

EXTENSIONS = {
    "grader": {"ruler": "skills.benchmarks.ruler.grader:GRADER"},
    "metrics": {"ruler": "skills.benchmarks.ruler.metrics:RulerScorer"},
    "group_score": {"ruler": "skills.benchmarks.ruler.score:SCORE",
                    SCORE_MODULE: "skills.benchmarks.ruler.score:SCORE"},
    "environment": {"ruler": "skills.benchmarks.ruler.environment:ENVIRONMENT"},
    "upstream": {"ruler": "skills.benchmarks.ruler.upstream:RULER"},
}


def family(task: str) -> str:
    return task.split("_", 1)[0]


def generation_args(task: str) -> Tuple[str, ...]:
    """The reference's per-task overrides: the answer prefix (the row's ``generation``) starts the
    assistant turn, so requests go to the text endpoint with the chat template applied locally."""
    return ("++prompt_config=generic/default", f"++inference.tokens_to_generate={TOKENS_TO_GENERATE[family(task)]}",
            "++start_assistant_response_key=generation", "++inference.endpoint_type=text",
            "++eval_type=ruler", f"++eval_config.match_type={MATCH_TYPE[family(task)]}")


def task_spec(setup: str, task: str) -> BenchmarkSpec:
    return BenchmarkSpec(name=f"ruler.{setup}.{task}", metrics_type="ruler", generation_args=generation_args(task),
                         dataset_group="long-context")


def group_spec(setup: str, tasks: Tuple[str, ...] = TASKS) -> BenchmarkSpec:
    return BenchmarkSpec(name=f"ruler.{setup}", is_group=True, metrics_type="ruler", dataset_group="long-context",
                         members=tuple(f"ruler.{setup}.{t}" for t in tasks), score_module=SCORE_MODULE)


def member(name: str, data_dir: Optional[Path]) -> Optional[BenchmarkSpec]:
    """``ruler.<setup>`` and ``ruler.<setup>.<task>``; None hands the lookup to the definitions a
    prepare wrote into the data dir (they may list fewer tasks) or reports an unknown name."""
    parts = name.split(".")
    if len(parts) not in (2, 3) or not SETUP_NAME.fullmatch(parts[1]):
        return None
    if data_dir is not None and Path(data_dir).joinpath(*parts, "__init__.py").is_file():
        return None
    if len(parts) == 2:
        return group_spec(parts[1])
    return task_spec(parts[1], parts[2]) if parts[2] in TASKS else None
