"""SciCode generation: ``python -m skills.benchmarks.scicode.generate`` (one output line per problem).

The sub-steps of a problem are generated in order, one request each: a step's prompt holds the
earlier steps' descriptions (and backgrounds, ``++with_background``) with the code the model wrote
for them, and the next step's description, function header and return line. Three steps are given
(``PREFILLED_STEPS``): their code comes from SciCode's files staged by ``ns prepare_data scicode``.
The line's ``generation`` maps ``"<problem>.<step>"`` to the full program of that step (all earlier
code + this step's), which is what the grader runs. A prompt that no longer fits the model's
context is recorded, not fatal: that step and all later ones get ``_ran_out_of_context_`` (keys as
the reference writes them, see ``_problem``). Problems run concurrently and resume one by one.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from skills.benchmarks.scicode import PREFILLED_DIR, PREFILLED_STEPS
from skills.benchmarks.scicode.steps import (OUT_OF_CONTEXT, extract_code, is_context_overflow, prefilled_code,
                                             prompt_fields, step_program)
from skills.config.errors import UsageError
from skills.inference.client import GenerationError
from skills.inference.config import GenerateConfig
from skills.inference.program import STATS, GenerationTask, build_output, main
from skills.inference.prompts import PromptBuilder, messages_to_text

GENERATION_FAILED = "_generation_failed_"  # steps of a problem whose request failed (++soft_fail)
STEP_KEYS = ("step_number", "step_description_prompt", "step_background", "function_header", "return_line")


@dataclass
class SciCodeGenerateConfig(GenerateConfig):
    prompt_config: Optional[str] = "eval/scicode/default"
    with_background: bool = True  # each step's background goes into the prompt after its description
    prefilled_dir: Optional[str] = None  # default: <folder of the input file>/prefilled


@dataclass
class Problem:
    """One input row, checked, with the code of its prefilled steps (0-based index -> code)."""

    row: Dict[str, Any]
    where: str
    prefilled: Dict[int, str] = field(default_factory=dict)

    @property
    def pid(self) -> str:
        return str(self.row["problem_id"])


def _check_row(row: Dict[str, Any], where: str) -> None:
    for key in ("problem_id", "required_dependencies", "sub_steps"):
        if key not in row:
            raise UsageError(f"{where}: a SciCode problem needs '{key}'")
    if not isinstance(row["sub_steps"], list) or not row["sub_steps"]:
        raise UsageError(f"{where}: 'sub_steps' must be a non-empty list")
    for i, step in enumerate(row["sub_steps"]):
        missing = [k for k in STEP_KEYS if not isinstance(step, dict) or k not in step]
        if missing:
            raise UsageError(f"{where}: sub-step {i + 1} lacks {', '.join(missing)}")


class SciCodeTask(GenerationTask):
    config_class = SciCodeGenerateConfig

    def prepare(self, entries: List[Tuple[int, Dict[str, Any]]], src: Path) -> List[Problem]:
        self.builder = PromptBuilder(self.cfg)
        folder = Path(self.cfg.prefilled_dir) if self.cfg.prefilled_dir else src.parent / PREFILLED_DIR
        problems = []
        for lineno, row in entries:
            problem = Problem(row, f"{src}:{lineno}")
            _check_row(row, problem.where)
            for (pid, index), step_number in PREFILLED_STEPS.items():
                if problem.pid == pid and index < len(row["sub_steps"]):
                    problem.prefilled[index] = self._prefilled(folder, step_number, row["sub_steps"][index])
            problems.append(problem)
        return problems

    @staticmethod
    def _prefilled(folder: Path, step_number: str, step: Dict[str, Any]) -> str:
        path = folder / f"{step_number}.txt"
        if not path.is_file():
            raise UsageError(f"the given code of SciCode step {step_number} is missing ({path}): run "
                             "`ns prepare_data scicode` (or set ++prefilled_dir)")
        try:
            return prefilled_code(path.read_text(encoding="utf-8"), step["function_header"])
        except (SyntaxError, ValueError) as exc:
            raise UsageError(f"{path}: not SciCode's code for step {step_number} ({exc})") from None

    def _request(self, problem: Problem, fields: Dict[str, str]) -> Any:
        row = {**problem.row, **fields}
        messages = self.builder.messages(row, problem.where)
        return messages if self.chat else messages_to_text(messages, self.cfg, row)

    def describe(self, request: Any) -> str:
        """The first step's prompt (the others depend on the answers)."""
        problem: Problem = request
        first = 0 if 0 not in problem.prefilled else 1
        codes = [problem.prefilled.get(i) for i in range(len(problem.row["sub_steps"]))]
        return super().describe(self._request(problem, prompt_fields(problem.row, first, codes,
                                                                     self.cfg.with_background)))

    async def process(self, row: Dict[str, Any], request: Any, client) -> Dict[str, Any]:
        start = time.time()
        generation, full_outputs, tokens = await self._problem(request, client)
        out: Dict[str, Any] = {self.cfg.generation_key: generation, "num_generated_tokens": tokens,
                               "full_outputs": full_outputs}
        return self._finish(out, row, start)

    async def _problem(self, problem: Problem, client) -> Tuple[Dict[str, str], Dict[str, Any], int]:
        """Every step in order: (generation, per-step outputs, generated tokens)."""
        cfg, pid = self.cfg, problem.pid
        steps = problem.row["sub_steps"]
        codes: List[Optional[str]] = [None] * len(steps)
        generation: Dict[str, str] = {}
        full_outputs: Dict[str, Any] = {}
        tokens, overflow = 0, False
        for i in range(len(steps)):
            if i in problem.prefilled:
                codes[i] = problem.prefilled[i]
                continue
            if overflow:
                # The reference numbers these keys from 0 (step i+1 gets "pid.i"), so the key of the
                # step that overflowed is written twice, a prefilled step may get a key and the last
                # step gets none. Kept: the graded keys and num_subtasks depend on it.
                generation[f"{pid}.{i}"] = OUT_OF_CONTEXT
                continue
            key = f"{pid}.{i + 1}"
            fields = prompt_fields(problem.row, i, codes, cfg.with_background)
            t0 = time.time()
            try:
                comp = await self.complete(client, self._request(problem, fields))
            except GenerationError as exc:
                if not is_context_overflow(exc):
                    raise
                overflow = True
                generation[key] = OUT_OF_CONTEXT
                continue
            step_out = build_output(cfg, {}, comp, t0, time.time())
            full_outputs[key] = step_out
            tokens += comp.num_generated_tokens or 0
            codes[i] = extract_code(step_out[cfg.generation_key] or "")
            generation[key] = step_program(problem.row, i, codes, codes[i])
        return generation, full_outputs, tokens

    def _finish(self, out: Dict[str, Any], row: Dict[str, Any], start: float) -> Dict[str, Any]:
        if self.cfg.add_generation_stats:
            end = time.time()
            out.update(generation_start_time=start, generation_end_time=end, generation_time=end - start)
        else:
            for stat in STATS:
                out.pop(stat, None)
        for k, v in row.items():
            out.setdefault(k, v)
        return out

    def failed(self, row: Dict[str, Any], error: Exception) -> Dict[str, Any]:
        """A problem whose request failed for good (``++soft_fail``): every step it would have
        generated is recorded as failed, so it is graded (and counted) as wrong, not skipped."""
        pid = str(row["problem_id"])
        prefilled = {i for (p, i) in PREFILLED_STEPS if p == pid}
        generation = {f"{pid}.{i + 1}": GENERATION_FAILED for i in range(len(row["sub_steps"]))
                      if i not in prefilled}
        out = {self.cfg.generation_key: generation, "num_generated_tokens": 0, "full_outputs": {},
               "error": str(error)}
        return self._finish(out, row, time.time())


TASK = SciCodeTask

if __name__ == "__main__":
    sys.exit(main(task_cls=TASK, doc=__doc__))
