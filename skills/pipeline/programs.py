"""The generation programs a plan runs: which module (``--generation_type`` / ``--generation_module``),
its command line, and its ``++`` settings parsed and checked once, at plan time.

A ``Program`` holds a module's ``GenerationTask`` and ``++`` schema. Tokens are parsed once
(``parse``: key, grammar, value type) and then composed as often as a check needs: in command order
naming their source (``check_order``), into the config the job will see (``config``, with the task's
own checks), and to read the input or a resume journal as the job will (``check_input``,
``check_resume``). Mistakes fail here, before any job starts.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any, List, Optional, Sequence

from skills.config.errors import UsageError
from skills.config.fingerprint import Fingerprint
from skills.config.overrides import Override, check_order, compose, parse_overrides
from skills.inference.program import prepare_rows, resume_problem
from skills.inference.settings import input_path, read_input
from skills.inference.task import GenerationTask, task_of
from skills.pipeline.prompts import REMOTE_PROMPTS

DEFAULT_MODULE = "skills.inference.generate"
GENERATION_TYPES = {"generate": DEFAULT_MODULE, "math_judge": "skills.inference.math_judge",
                    "check_contamination": "skills.inference.check_contamination"}
# the reference's generation modules that have an equivalent here (reference-style benchmark modules name them)
REFERENCE_MODULES = {"nemo_skills.inference.eval.arena_judge": "skills.inference.pairwise_judge"}


def generation_module(generation_type: Optional[str], module: Optional[str], flag: str = "--generation") -> Optional[str]:
    """``--generation_type`` (the reference's fixed map) or ``--generation_module``; not both."""
    if generation_type and module:
        raise UsageError(f"give {flag}_type or {flag}_module, not both")
    if generation_type is None:
        return module
    if generation_type in GENERATION_TYPES:
        return GENERATION_TYPES[generation_type]
    raise UsageError(f"{flag}_type must be one of generate, math_judge, check_contamination, not '{generation_type}'")


def program_argv(module: str, tokens: Sequence[str]) -> List[str]:
    """``python -m module tok...`` (a path ``x.py`` runs as a script)."""
    head = ["python", module] if module.endswith(".py") or "/" in module else ["python", "-m", module]
    return [*head, *tokens]


def shell_join(argv: Sequence[str]) -> str:
    return " ".join(shlex.quote(t) for t in argv)


def tokens(overrides: Sequence[Override]) -> List[str]:
    """Parsed tokens as the program receives them (Hydra-safe, shell-independent)."""
    return [ov.token for ov in overrides]


class Program:
    """One generation module as a plan runs it (see the module docstring)."""

    def __init__(self, module: str):
        self.module = module
        self.task = task_of(module)
        self.schema: type = self.task.config_class

    def parse(self, tokens: Sequence[str]) -> List[Override]:
        return parse_overrides(tokens, self.schema)

    def check_order(self, overrides: Sequence[Override], source: str = "") -> List[str]:
        """The tokens applied in command order (``+key`` on a key already set fails, naming ``source``)."""
        check_order(overrides, self.schema, source)
        return tokens(overrides)

    def config(self, overrides: Sequence[Override], label: str, prompt_set_dir: Optional[str] = None) -> Any:
        """The config a job given ``overrides`` will see, after the task's own checks (prompt config
        found, eval type and eval_config valid, ...); errors start with ``label``. ``prompt_set_dir``
        is where the job will find the reference prompt set (the user's ``++prompt_set_dir`` wins)."""
        first: List[str] = [f"++prompt_set_dir={prompt_set_dir}"] if prompt_set_dir else []
        last: List[str] = []
        if prompt_set_dir == REMOTE_PROMPTS:  # the job's set is on the cluster: it decides there, not here
            first, last = ["++prompt_set_dir=none"], ["++prompt_source=own"]
        try:
            cfg = compose([*self.parse(first), *overrides, *self.parse([*last, "++output_file=-"])], self.schema)
            self.task.check(cfg)
        except UsageError as exc:
            raise UsageError(f"{label}: {exc.message}") from None
        return cfg

    @property
    def prepared_here(self) -> bool:
        """Requests are built at plan time only by the default task: a module's own ``prepare`` may need
        what only its job has (a tokenizer folder, a tool environment, staged files)."""
        return self.task.prepare is GenerationTask.prepare

    def check_input(self, overrides: Sequence[Override], label: str, prompt_set_dir: Optional[str]) -> None:
        """Read the input file (and build every request, as the job will, for the default task): a bad
        line or a prompt field a line lacks is one line and exit code 2 before anything starts."""
        cfg = self.config(overrides, label, prompt_set_dir)
        if not self.prepared_here:
            read_input(input_path(cfg), cfg.prompt_format)
            return
        task = prepare_rows(cfg, self.task)[0]
        task.close()

    def settings_fingerprint(self, overrides: Sequence[Override], label: str,
                             prompt_set_dir: Optional[str]) -> Fingerprint:
        """The settings fingerprint the job given ``overrides`` will record for its output
        (``GenerationTask.settings_fingerprint``), to compare with what finished outputs record."""
        cfg = self.config(overrides, label, prompt_set_dir)
        try:
            src: Optional[Path] = input_path(cfg)
        except UsageError:
            src = None  # no input named: the job fails on it, not this comparison
        return self.task.settings_fingerprint(cfg, src)

    def check_resume(self, overrides: Sequence[Override], label: str, prompt_set_dir: Optional[str],
                     target: str) -> None:
        """A resume the program would refuse (its journal was written from another input or with other
        settings) fails now, before any job starts or any manifest credits the run."""
        if not os.path.exists(f"{target}-async") or not self.prepared_here:
            return  # no journal; or a module's own task, whose job refuses such a resume itself
        problem = resume_problem(self.config(overrides, label, prompt_set_dir), self.task, Path(target))
        if problem:
            raise UsageError(f"{label}: {problem}")
