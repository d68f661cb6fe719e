"""The ``if`` grader (the reference's eval_type for IFEval): Google's official checker, in the environment ``ifbench``, strict and loose.

Runs as ``runs="external"`` (``.venv-ifbench`` or ``$SKILLS_PYTHON_IFBENCH``): the checker needs
langdetect, absl-py and immutabledict beside IFBench's nltk. This module is imported by the
orchestrator too, so the checker itself (``checker.py``) is imported only when grading. Each row
gets ``loose_eval`` then ``strict_eval`` (``follow_all_instructions``, ``follow_instruction_list``,
``instruction_id_list``, ``prompt``, ``response``), as the reference merges them into its rows.
eval_config: ``code_dir`` (default ``<data_dir>/ifeval/google-research``), ``nltk_data`` (default
``<data_dir>/nltk_data``, then ``$NLTK_DATA``), ``langdetect_seed`` (see ``checker.py``). A checker
that raises fails the file, as in the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from skills.config.errors import UsageError
from skills.evaluation.registry import GradeContext, Grader

PROBE = "instruction_following_eval/evaluation_lib.py"


@dataclass
class IFEvalConfig:
    code_dir: Optional[str] = None  # google-research checkout (or fetched subset) holding instruction_following_eval/
    nltk_data: Optional[str] = None  # folder holding tokenizers/punkt_tab
    langdetect_seed: Optional[int] = 0  # None: unseeded, as the reference (its language verdicts can vary)


def code_dir(cfg: IFEvalConfig, ctx: GradeContext) -> Path:
    if cfg.code_dir:
        folder = Path(cfg.code_dir).expanduser()
    else:
        from skills.data import default_data_dir

        folder = Path(ctx.pipeline.get("data_dir") or default_data_dir()) / "ifeval" / "google-research"
    if not (folder / PROBE).is_file():
        raise UsageError(f"IFEval's checker is not in {folder} (no {PROBE}): run `ns prepare_data ifeval` "
                         f"or pass ++eval_config.code_dir=DIR")
    return folder


def check(rows: List[dict], cfg: IFEvalConfig, ctx: GradeContext) -> None:
    from skills.benchmarks.ifbench import nltk_data
    from skills.benchmarks.ifbench.grader import check_rows

    check_rows(rows, ctx)  # the same row shapes as IFBench's (its checkers descend from IFEval's)
    code_dir(cfg, ctx)
    nltk_data.find(cfg.nltk_data, ctx.pipeline.get("data_dir"))


def grade(rows: List[dict], cfg: IFEvalConfig, ctx: GradeContext) -> None:
    from skills.benchmarks.ifbench import nltk_data
    from skills.benchmarks.ifeval import checker

    folder = nltk_data.find(cfg.nltk_data, ctx.pipeline.get("data_dir"))
    checker.grade(rows, ctx.generation_key, code_dir(cfg, ctx), folder, cfg.langdetect_seed)


def summary(rows: List[dict]) -> Dict[str, int]:
    return {
        "prompts_followed_strict": sum(bool(r["strict_eval"]["follow_all_instructions"]) for r in rows),
        "prompts_followed_loose": sum(bool(r["loose_eval"]["follow_all_instructions"]) for r in rows),
    }


GRADER = Grader(
    name="if", grade=grade, config=IFEvalConfig,
    requires=("key", "prompt", "instruction_id_list", "kwargs", "{generation_key}"),
    runs="external", environment="ifbench", check=check,
    summary=summary, default_generation_key="response",
)
