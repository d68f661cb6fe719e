"""The per-row protocol of generation programs: ``GenerationTask`` and the output line it builds.

A generation module defines a ``GenerationTask`` subclass and ``TASK = <that class>``; the shared
loop in ``skills.inference.program`` runs it. ``task_of`` finds a module's task at plan time, so
its own ``++`` schema (``config_class``) and checks run before any job.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from skills.config.errors import UsageError
from skills.config.fingerprint import Fingerprint, canonical, digest, file_digest
from skills.config.secrets import is_secret_setting
from skills.data.recorded import read_settings
from skills.inference.client import Client
from skills.inference.responses import Completion
from skills.inference.config import GenerateConfig
from skills.inference.prompts import PromptBuilder, messages_to_text
from skills.inference.reasoning import apply_reasoning
from skills.inference.settings import check_config

STATS = ("num_generated_tokens", "num_reasoning_tokens", "num_answer_tokens",
         "generation_start_time", "generation_end_time", "generation_time")


def cut_at_stop(text: str, stops: List[str], keep: bool = False) -> str:
    """The text up to the earliest stop phrase: without it, as the reference's ``remove_stop_phrases``
    cuts (its phrases are regular expressions by accident; here they are plain text), or with it
    (``keep``)."""
    found = [(pos, stop) for stop in stops if stop and (pos := text.find(stop)) >= 0]
    if not found:
        return text
    pos, stop = min(found, key=lambda f: (f[0], -len(f[1])))
    return text[: pos + len(stop)] if keep else text[:pos]


def build_output(cfg: GenerateConfig, row: Dict[str, Any], comp: Completion, start: float, end: float) -> dict:
    """Output line: generation fields first, then every input field they do not replace."""
    text = cut_at_stop(comp.text, list(cfg.inference.stop) + ([cfg.stop_phrase] if cfg.stop_phrase else []),
                       cfg.keep_stop_phrase)
    key = cfg.generation_key
    out: Dict[str, Any] = {key: text}
    out.update(comp.extra)
    out["finish_reason"] = comp.finish_reason
    if cfg.parse_reasoning:
        apply_reasoning(out, key, cfg.end_reasoning_string, cfg.trust_server_reasoning)
    if cfg.add_generation_stats:
        out["num_generated_tokens"] = comp.num_generated_tokens
        out["generation_start_time"] = start
        out["generation_end_time"] = end
        out["generation_time"] = end - start
    else:
        for stat in STATS:
            out.pop(stat, None)
    for k, v in row.items():
        if k not in out:
            out[k] = v
    return out


def total_code_executions(cfg: GenerateConfig, lineno: int) -> int:
    """The row's ``total_code_executions`` (``++total_code_executions_in_prompt``): the number, or one
    drawn from [min, max] by the run's seed and the row's line, so a resumed run draws the same."""
    value = cfg.total_code_executions_in_prompt
    if isinstance(value, (list, tuple)):
        import random

        return random.Random(f"{cfg.inference.random_seed}:{lineno}").randint(int(value[0]), int(value[1]))
    return int(value)


def _public(value: Any) -> Any:
    """A mapping without its secret entries (``extra_body.api_key``): fingerprints are written to files."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not is_secret_setting(str(k), v)}
    return value


def _settings(cfg: Any, prefix: str = "") -> List[Tuple[str, Any]]:
    """(dotted name, value) of every field; nested configs are walked, mappings (``extra_body``...)
    stay whole, so that a key added to one is a change of that setting."""
    out: List[Tuple[str, Any]] = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            out += _settings(value, f"{prefix}{f.name}.")
        else:
            out.append((f"{prefix}{f.name}", value))
    return out


def source_key_for(generation_key: str) -> str:
    """``prompt_source`` for generations, ``<key>_prompt_source`` for e.g. the judge's ``judgement``,
    so a judged line keeps the generation's source next to the judge's."""
    return "prompt_source" if generation_key == "generation" else f"{generation_key}_prompt_source"


class GenerationTask:
    """Per-row work of a generation program. Subclass it and override what differs.

    ``prepare`` turns every input row into a request (whatever ``process`` needs: chat messages by
    default); ``process`` turns one row and its request into one output line, calling the server
    through ``client`` as often as it needs (``complete`` sends one request). Both run in the shared
    loop of ``run``: resume, concurrency, progress, soft-fail, grading and ``.done`` come for free.
    """

    config_class: type = GenerateConfig

    def __init__(self, cfg: GenerateConfig):
        self.cfg = cfg
        self.prompt_source: Optional[str] = None  # recorded in every output line (prepare sets it)
        self.prompt_notice: Optional[str] = None  # our wording instead of the reference's: said once in the log

    @classmethod
    def check(cls, cfg: GenerateConfig) -> None:
        """Cross-field checks (run by the planners before any job, and at start-up)."""
        if cfg.parallel_thinking.mode is not None and cls.process is not GenerationTask.process:
            raise UsageError("parallel_thinking works on the default generation's requests; this generation "
                             f"module ({cls.__name__}) sends its own")
        check_config(cfg)
        if cfg.tool_modules and cls.process is not GenerationTask.process:
            raise UsageError(f"++tool_modules: the generation module's {cls.__name__} makes its own requests; "
                             "tool modules work with the default generation program")

    def prepare(self, entries: List[Tuple[int, Dict[str, Any]]], src: Path) -> List[Any]:
        """The requests of ``entries``. The default task's rows are independent: the program calls
        it on one batch of rows at a time, as it reads the input (twice: to check every row and
        fingerprint the run before it starts, then to send them), so rows are never all in memory.
        A subclass that overrides it is called once with every row."""
        builder = getattr(self, "_builder", None)
        if builder is None:
            builder = self._builder = PromptBuilder(self.cfg)  # the prompt file is read once
        self.prompt_source = builder.source
        self.prompt_notice = builder.prompt.notice if builder.prompt is not None else None
        requests: List[Any] = []
        for lineno, row in entries:
            if self.cfg.total_code_executions_in_prompt is not None:
                row["total_code_executions"] = total_code_executions(self.cfg, lineno)
            self.preprocess_row(row)
            msgs = builder.messages(row, f"{src}:{lineno}", suffix=self.chat)
            requests.append(msgs if self.chat else messages_to_text(msgs, self.cfg, row))
        return requests

    def preprocess_row(self, row: Dict[str, Any]) -> None:
        """Fill in, in place, fields the prompt needs that the input may lack (the reference's
        ``preprocess_data``; e.g. the math judge's ``predicted_answer``). The row, so changed, is
        also what ``process`` receives and the output line keeps."""

    # settings that do not change what a row's request or output line is (where the server is, how
    # long to wait, how many requests at once, what happens after generation): a resume may change them.
    # Besides these, any key ending in ``timeout`` or ``_s`` (seconds) and secrets are left out.
    fingerprint_ignores: Tuple[str, ...] = (
        "input_file", "output_file", "benchmark", "data_dir", "split", "prompt_set_dir", "skip_filled",
        "dry_run", "max_concurrent_requests", "soft_fail", "eval_type", "eval_config", "skip_grading",
        "enable_litellm_cache", "async_position_key", "wait_for_sandbox", "sandbox", "tokenizer",
        "server.base_url", "server.host", "server.port", "server.api_key_env_var", "server.max_retries",
        "server.enable_soft_fail", "server.use_v1_endpoint", "server.tokenizer",
        "server.adaptive_concurrency", "server.initial_concurrency", "server.latency_tolerance",
    )

    def fingerprint(self, src: Path, requests: Iterable[Any]) -> Fingerprint:
        """What the rows of a run depend on, recorded in the resume journal: a resume whose
        fingerprint differs would mix rows made from different inputs or settings, so it is refused.

        The input file's content, every request as prepared (prompts built from it), and every
        setting except ``fingerprint_ignores``; a subclass adds what else its rows depend on."""
        fp = Fingerprint()
        fp.add("input file", file_digest(src))
        requests_digest, rows = hashlib.sha256(), 0
        for request in requests:  # any iterable: the default task's are made as the input is read
            requests_digest.update(canonical(request).encode("utf-8", "surrogatepass") + b"\n")
            rows += 1
        fp.add("prompts", "sha256:" + requests_digest.hexdigest()[:16])
        fp.add("rows", rows)
        for name, value in _settings(self.cfg):
            last = name.rsplit(".", 1)[-1]
            if any(name == ig or name.startswith(ig + ".") for ig in self.fingerprint_ignores) \
                    or last.endswith(("timeout", "_s")) or is_secret_setting(name, value):
                continue
            fp.add(name, _public(value))
        if self.cfg.parallel_thinking.mode is not None:  # the selection prompt, offline candidates' files
            from skills.inference.parallel_thinking import fingerprint_items

            for name, value in fingerprint_items(self.cfg):
                fp.add(name, value)
        return fp

    # what differs between the runs of one output folder by design: each seed's seed, each chunk's share
    per_run_settings: Tuple[str, ...] = ("inference.random_seed", "num_chunks", "chunk_id")

    @classmethod
    def settings_fingerprint(cls, cfg: Any, src: Optional[Path]) -> Fingerprint:
        """The settings a finished output was made with (``skills.data.recorded``), compared between
        the seeds of one folder: every setting the journal's ``fingerprint`` records except the
        seed and chunk, the prompt's wording and source, the input file, and the settings the input
        itself records (a judge's input is a generation: its sampling shows as ``input: ...``).
        Cheap enough for a planner to build for every seed (no request is prepared)."""
        fp = Fingerprint()
        ignored = (*cls.fingerprint_ignores, *cls.per_run_settings)
        for name, value in _settings(cfg):
            last = name.rsplit(".", 1)[-1]
            if any(name == ig or name.startswith(ig + ".") for ig in ignored) \
                    or last.endswith(("timeout", "_s")) or is_secret_setting(name, value):
                continue
            fp.add(name, _public(value))
        builder = None  # a module's own task may not use a prompt config
        if cfg.prompt_format != "ns" or cfg.prompt_config:
            try:
                builder = PromptBuilder(cfg)
            except UsageError:
                pass  # the job itself says what is wrong with its prompt
        if builder is not None:
            fp.add("prompt source", builder.source)
            if builder.prompt is not None:
                p = builder.prompt
                fp.add("prompt wording", digest([p.system, p.user, p.few_shot.prefix, p.few_shot.template,  # "changed"
                                                 p.few_shot.suffix, p.few_shot.examples_type, p.few_shot.examples]))
        if cfg.parallel_thinking.mode is not None:  # the selection prompt (its candidate files: the journal's)
            from skills.inference.parallel_thinking import fingerprint_items

            try:
                for name, value in fingerprint_items(cfg, with_files=False):
                    fp.add(name, value)
            except UsageError:
                pass  # the job itself says what is wrong with its prompt
        if src is not None and src.is_file():
            fp.add("input file", file_digest(src))
            recorded = read_settings(src)
            for name, value in (recorded.values.items() if recorded is not None else ()):
                if name != "input file" and not name.startswith("input: "):
                    fp.add(f"input: {name}", value)
        return fp

    def describe(self, request: Any) -> str:
        """The example request printed in the job log."""
        return json.dumps(request, indent=2, ensure_ascii=False) if isinstance(request, list) else str(request)

    @property
    def chat(self) -> bool:
        """Messages are sent (chat completions or the Responses API), not a templated text prompt."""
        return self.cfg.inference.endpoint_type != "text"

    async def complete(self, client: Client, request: Any, **body: Any) -> Completion:
        """One request: chat messages or a text prompt (``body`` adds fields such as ``tools``)."""
        if self.chat:
            return await client.complete(self.cfg, messages=request, **body)
        return await client.complete(self.cfg, prompt=request, **body)

    async def process(self, row: Dict[str, Any], request: Any, client: Client) -> Dict[str, Any]:
        if self.cfg.parallel_thinking.mode is not None:  # GenSelect / GenSynthesis over candidates
            from skills.inference.parallel_thinking import process_row  # each request: this method, mode off

            return await process_row(self, row, request, client)
        if self.cfg.tool_modules:  # the tool-calling loop (skills.inference.tool_loop)
            from skills.inference.tool_loop import process_with_tools

            return await process_with_tools(self, row, request, client, cut_at_stop)
        start = time.time()
        if self.cfg.code_execution:  # the code-execution loop (skills.inference.code_execution)
            from skills.inference.code_execution import generate_with_code

            comp, start = await generate_with_code(self, row, request, client)
            return build_output(self.cfg, row, comp, start, time.time())
        comp = await self.complete(client, request)
        return build_output(self.cfg, row, comp, start, time.time())

    def close(self) -> None:
        """Release what ``process`` started (e.g. a tool executor process); called once after the requests."""
        if getattr(self, "_tool_manager", None) is not None:
            from skills.inference.tool_loop import close_tools

            close_tools(self)

    def failed(self, row: Dict[str, Any], error: Exception) -> Dict[str, Any]:
        """The line recorded for a request that failed for good under ``++soft_fail=True``."""
        now = time.time()
        return build_output(self.cfg, row, Completion(text="", finish_reason="error", extra={"error": str(error)}),
                            now, now)


def task_of(module_name: str) -> type:
    """The ``GenerationTask`` subclass a generation module declares as ``TASK`` (plan-time checks)."""
    import importlib

    if module_name.endswith(".py") or "/" in module_name:
        import importlib.util

        spec = importlib.util.spec_from_file_location("skills_generation_module", module_name)
        if spec is None or spec.loader is None:
            raise UsageError(f"generation module {module_name} cannot be loaded")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except FileNotFoundError:
            raise UsageError(f"generation module {module_name} not found") from None
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise UsageError(f"cannot import generation module {module_name}: {exc}") from None
    task = getattr(module, "TASK", None)
    if not (isinstance(task, type) and issubclass(task, GenerationTask)):
        raise UsageError(f"generation module {module_name} declares no TASK (a GenerationTask subclass)")
    return task
