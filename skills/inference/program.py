"""The generation-program machinery shared by every generation module.

A generation module (``python -m skills.inference.generate`` or a benchmark's own, e.g. BFCL's
multi-turn tool calling or SciCode's sub-steps) defines a ``GenerationTask`` subclass and
``TASK = <that class>``. The task owns the per-row work: its config schema (``config_class``, a
``GenerateConfig`` subclass whose extra ``++`` keys are validated at plan time like the base ones),
``prepare`` (one request per input row; bad input fails here, before any file is touched) and
``process`` (one output line per row: one completion by default, a whole conversation for tool
calling). This module owns the rest, identical for all: Hydra-style config, input reading, chunks,
the crash-safe resume journal, bounded concurrency, progress, soft-fail, grading and ``.done``.

Order of a run: config -> input rows -> every request prepared -> dry run stop -> resume journal ->
wait for server -> requests -> ordered final file -> (merge chunks) -> grading -> ``.done``. Exit
codes: 0 ok, 2 usage/input error, 1 server failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.inference.client import (Client, Completion, GenerationError, ServerUnavailable,
                                     settings_from_config)
from skills.inference.config import GenerateConfig
from skills.inference.merge_chunks import chunk_bounds, chunk_path, merge
from skills.inference.progress import Progress, mark_state, run_label
from skills.inference.prompts import PromptBuilder, messages_to_text
from skills.inference.reasoning import apply_reasoning
from skills.inference.resume import Journal, done_path, finalize, journal_path, touch_done

STATS = ("num_generated_tokens", "num_reasoning_tokens", "num_answer_tokens",
         "generation_start_time", "generation_end_time", "generation_time")
FLUSH_EVERY_S = 0.2


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- config

def split_argv(argv: Sequence[str]) -> Tuple[Optional[str], Optional[str], List[str]]:
    """(config dir, config name, overrides); Hydra's own output/logging tokens are dropped."""
    config_path = config_name = None
    overrides: List[str] = []
    it = iter(argv)
    for tok in it:
        for flag in ("--config-path", "--config-dir", "--config-name", "-cp", "-cd", "-cn"):
            if tok == flag or tok.startswith(flag + "="):
                value = tok.split("=", 1)[1] if "=" in tok else next(it, None)
                if value is None:
                    raise UsageError(f"{flag} needs a value")
                if flag in ("--config-name", "-cn"):
                    config_name = value
                else:
                    config_path = value
                break
        else:
            body = tok.lstrip("+~")
            if body.startswith(("hydra.", "hydra/")):
                continue
            if tok.startswith("-"):
                raise UsageError(f"unknown option '{tok}' (settings are ++key=value overrides; see --help)")
            overrides.append(tok)
    return config_path, config_name, overrides


def store_name(schema: type) -> str:
    """Name of a schema in Hydra's ConfigStore (``base_generation_config`` for the default one)."""
    return "base_generation_config" if schema is GenerateConfig else f"base_{schema.__name__}"


def load_config(argv: Sequence[str], schema: type = GenerateConfig, check: bool = True) -> Any:
    """Compose the config with Hydra and return the typed dataclass; any problem -> UsageError."""
    from hydra import compose, initialize, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    config_path, config_name, overrides = split_argv(argv)
    try:  # clear messages with closest-key suggestions (shared with the ns CLI)
        from skills.config.overrides import validate_overrides
    except ImportError:  # pragma: no cover
        validate_overrides = None
    if validate_overrides is not None and config_name is None:
        validate_overrides(overrides, schema)
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=store_name(schema), node=schema)
    try:
        if config_path:
            folder = Path(config_path).expanduser().resolve()
            if not folder.is_dir():
                raise UsageError(f"--config-path {config_path} is not a folder")
            ctx = initialize_config_dir(config_dir=str(folder), version_base=None)
        else:
            ctx = initialize(config_path=None, version_base=None)
        with ctx:
            composed = compose(config_name=config_name or store_name(schema), overrides=list(overrides))
        composed = OmegaConf.to_container(composed, resolve=True)
        composed.pop("defaults", None)
        cfg = OmegaConf.merge(OmegaConf.structured(schema), composed)
        obj = OmegaConf.to_object(cfg)
    except (HydraException, OmegaConfBaseException) as exc:
        msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"invalid configuration: {msg}") from None
    if check:
        check_config(obj)
    return obj


def check_config(cfg: GenerateConfig) -> None:
    """Cross-field checks the schema cannot express."""
    if cfg.prompt_format not in ("ns", "openai"):
        raise UsageError(f"prompt_format must be 'ns' or 'openai', not '{cfg.prompt_format}'")
    if cfg.prompt_format == "ns" and not cfg.prompt_config:
        raise UsageError("prompt_format=ns needs ++prompt_config=NAME (or ++prompt_format=openai)")
    if cfg.prompt_format == "openai" and cfg.prompt_config:
        raise UsageError("prompt_format=openai builds prompts from each line's 'messages'; drop ++prompt_config")
    if cfg.inference.endpoint_type not in ("chat", "text", "responses"):
        raise UsageError(f"inference.endpoint_type must be chat, text or responses, not '{cfg.inference.endpoint_type}'")
    strategy = cfg.server.context_limit_retry_strategy
    if strategy is not None:
        if strategy in ("reduce_prompt_from_start", "reduce_prompt_from_end"):
            raise UsageError(f"server.context_limit_retry_strategy={strategy} (the reference trims the prompt with a "
                             "tokenizer) is not implemented; use reduce_generation, or ++soft_fail=True alone")
        if strategy != "reduce_generation":
            raise UsageError(f"server.context_limit_retry_strategy must be reduce_generation, not '{strategy}'")
        if not (cfg.soft_fail or cfg.server.enable_soft_fail):
            raise UsageError("server.context_limit_retry_strategy needs ++server.enable_soft_fail=True (as in the reference)")
    if cfg.server.enable_soft_fail:
        cfg.soft_fail = True
    if cfg.enable_litellm_cache:
        log("enable_litellm_cache: finished requests are kept by the resume journal (<output>-async); "
            "no separate cache is needed")
    if cfg.start_assistant_response_key and cfg.prompt_format == "ns" and cfg.inference.endpoint_type != "text":
        raise UsageError("start_assistant_response_key needs ++inference.endpoint_type=text (a chat request has no "
                         "assistant text to start; the reference refuses it too)")
    if cfg.inference.endpoint_type == "text" and cfg.inference.tokens_to_generate is None:
        raise UsageError("inference.endpoint_type=text needs ++inference.tokens_to_generate")
    if cfg.use_completions_api:
        raise UsageError("use_completions_api is deprecated; use ++inference.endpoint_type=text")
    if cfg.code_execution:
        raise UsageError("code_execution is not supported by this implementation")
    if (cfg.num_chunks is None) != (cfg.chunk_id is None):
        raise UsageError("++num_chunks and ++chunk_id must be given together")
    if cfg.num_chunks is not None and not (cfg.num_chunks >= 1 and 0 <= cfg.chunk_id < cfg.num_chunks):
        raise UsageError(f"chunk_id must be in [0, num_chunks) (got {cfg.chunk_id} of {cfg.num_chunks})")
    if cfg.max_concurrent_requests < 1:
        raise UsageError("max_concurrent_requests must be >= 1")
    if not cfg.output_file and not cfg.dry_run:
        raise UsageError("++output_file=PATH is required")
    if cfg.chat_template_kwargs and cfg.inference.endpoint_type != "text":
        if "chat_template_kwargs" in (cfg.inference.extra_body or {}):
            raise UsageError("chat_template_kwargs given both directly and in inference.extra_body")
        cfg.inference.extra_body = {**cfg.inference.extra_body,
                                    "chat_template_kwargs": dict(cfg.chat_template_kwargs)}
    if cfg.eval_type:
        from skills.evaluation import check_config as check_eval_config

        check_eval_config(cfg.eval_type, cfg.eval_config)
    if cfg.prompt_format == "ns" and cfg.prompt_config:
        from skills.inference.prompts import load_prompt_config

        load_prompt_config(cfg.prompt_config, cfg.examples_type, cfg.few_shot_examples, cfg.prompt_set_dir,
                           cfg.data_dir, cfg.code_tags)


# --------------------------------------------------------------------------- input

def input_path(cfg: GenerateConfig) -> Path:
    if cfg.input_file:
        return Path(cfg.input_file)
    if cfg.benchmark:
        if cfg.data_dir:
            data_dir = Path(cfg.data_dir)
        else:
            from skills.data import default_data_dir

            data_dir = default_data_dir()
        return data_dir / cfg.benchmark / f"{cfg.split or 'test'}.jsonl"
    raise UsageError("give ++input_file=FILE or ++benchmark=NAME ++data_dir=DIR")


def read_input(path: Path, prompt_format: str = "openai") -> List[Tuple[int, Dict[str, Any]]]:
    """(line number, row) for every non-blank line; any bad line -> UsageError naming it.

    A bare JSON array line is a message list only with ``prompt_format=openai``."""
    if not path.is_file():
        raise UsageError(f"input file not found: {path}")
    from skills.data.io import iter_jsonl

    rows = []
    for lineno, row in iter_jsonl(path):
        if isinstance(row, list) and prompt_format == "openai":
            row = {"messages": row}
        if not isinstance(row, dict):
            kind = "a JSON array" if isinstance(row, list) else type(row).__name__
            raise UsageError(f"{path}:{lineno}: expected a JSON object (one problem per line), got {kind}")
        rows.append((lineno, row))
    if not rows:
        raise UsageError(f"input file {path} has no rows; nothing to generate")
    return rows


# --------------------------------------------------------------------------- grading

def grade_output(path: Path, eval_type: str, eval_config: Any, generation_key: str = "generation") -> None:
    from skills.evaluation import grade_file

    log(f"grading {path} (eval_type={eval_type})")
    grade_file(path, eval_type, dict(eval_config or {}), generation_key=generation_key)


# --------------------------------------------------------------------------- requests

def build_output(cfg: GenerateConfig, row: Dict[str, Any], comp: Completion, start: float, end: float) -> dict:
    """Output line: generation fields first, then every input field they do not replace."""
    text = comp.text
    for stop in list(cfg.inference.stop) + ([cfg.stop_phrase] if cfg.stop_phrase else []):
        pos = text.find(stop) if stop else -1
        if pos >= 0:
            text = text[: pos + len(stop)]
    key = cfg.generation_key
    out: Dict[str, Any] = {key: text}
    out.update(comp.extra)
    out["finish_reason"] = comp.finish_reason
    if cfg.parse_reasoning:
        apply_reasoning(out, key, cfg.end_reasoning_string)
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


def source_key_for(generation_key: str) -> str:
    """``prompt_source`` for generations, ``<key>_prompt_source`` for e.g. the judge's ``judgement``,
    so a judged line keeps the generation's source next to the judge's."""
    return "prompt_source" if generation_key == "generation" else f"{generation_key}_prompt_source"


# --------------------------------------------------------------------------- the task protocol

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
        check_config(cfg)

    def prepare(self, entries: List[Tuple[int, Dict[str, Any]]], src: Path) -> List[Any]:
        builder = PromptBuilder(self.cfg)
        self.prompt_source = builder.source
        self.prompt_notice = builder.prompt.notice if builder.prompt is not None else None
        requests: List[Any] = []
        for lineno, row in entries:
            msgs = builder.messages(row, f"{src}:{lineno}", suffix=self.chat)
            requests.append(msgs if self.chat else messages_to_text(msgs, self.cfg, row))
        return requests

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
        start = time.time()
        comp = await self.complete(client, request)
        return build_output(self.cfg, row, comp, start, time.time())

    def close(self) -> None:
        """Release what ``process`` started (e.g. a tool executor process); called once after the requests."""

    def failed(self, row: Dict[str, Any], error: Exception) -> Dict[str, Any]:
        """The line recorded for a request that failed for good under ``++soft_fail=True``."""
        now = time.time()
        return build_output(self.cfg, row, Completion(text="", finish_reason="error", extra={"error": str(error)}),
                            now, now)


class OutputWriteError(RuntimeError):
    """Results could not be written (disk full, folder gone): sending more requests would waste them."""


def _flush(journal: Journal) -> None:
    try:
        journal.flush()
    except OSError as exc:
        raise OutputWriteError(f"cannot write {journal.path}: {exc.strerror or exc}; stopped sending requests "
                               f"({len(journal.buffer)} finished results could not be saved; free space and "
                               "rerun to resume from what was saved)") from None


async def _flusher(journal: Journal) -> None:
    while True:
        await asyncio.sleep(FLUSH_EVERY_S)
        _flush(journal)


async def run_requests(task: GenerationTask, rows: List[Dict[str, Any]], requests: List[Any],
                       todo: List[int], journal: Journal, where: Optional[List[str]] = None) -> int:
    """Process every pending row; results go to the journal as they finish.

    The client bounds the requests on the wire (``max_concurrent_requests``); rows only wait
    their turn. ``where`` names each row's input line for errors."""
    cfg = task.cfg
    settings = settings_from_config(cfg)
    async with Client(settings) as client:
        log(f"waiting for the server at {settings.base_url}")
        await client.wait_for_server()
        progress = Progress(len(rows), len(rows) - len(todo),
                            run_label(Path(cfg.output_file) if cfg.output_file else None, cfg.generation_key),
                            lambda: client.retries)
        source_key = source_key_for(cfg.generation_key)

        async def one(i: int) -> None:
            try:
                out = await task.process(rows[i], requests[i], client)
            except GenerationError as exc:
                if not cfg.soft_fail:
                    raise GenerationError(f"{where[i]}: {exc}" if where else str(exc)) from None
                # e.g. a prompt longer than the context: record it, keep the other hours of work
                out = task.failed(rows[i], exc)
                failed = True
            else:
                failed = False
            if task.prompt_source is not None:
                out[source_key] = task.prompt_source
            journal.add(i, out)
            if len(journal.buffer) >= cfg.max_concurrent_requests:  # a kill loses at most one such batch
                _flush(journal)
            progress.update(out.get("num_generated_tokens"), failed)

        flusher = asyncio.create_task(_flusher(journal))
        tasks = [asyncio.create_task(one(i)) for i in todo]
        waiting = set(tasks) | {flusher}
        try:
            while waiting - {flusher}:  # until every row is done, or a row or the journal fails
                done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                failed = [t for t in done if not t.cancelled() and t.exception() is not None]
                if failed:
                    for t in waiting:
                        t.cancel()
                    if waiting:
                        await asyncio.wait(waiting)
                    raise failed[0].exception()
        finally:
            flusher.cancel()
            progress.close("failed" if sys.exc_info()[0] else "generated")
            _flush(journal)
        if client.retries:
            log(f"{client.retries} request attempts were retried ({client.retry_summary()})")
    return len(todo)


# --------------------------------------------------------------------------- main flow

def _finish(cfg: GenerateConfig, output: Path, target: Path) -> None:
    """After ``target`` is final: merge chunks if chunked, grade, then the done marker.

    With ``++skip_grading=True`` the pipeline grades in a step of its own, which writes ``.done``.
    """
    if cfg.skip_grading:
        if cfg.num_chunks is not None:
            touch_done(target)
            merge(output, [chunk_path(output, k) for k in range(cfg.num_chunks)], None, mark_done=False)
        log(f"{output} generated; grading is a separate step")
        return
    def grade_target(p: Path) -> None:
        mark_state(output, cfg.generation_key, "grading")
        grade_output(p, cfg.eval_type, cfg.eval_config, cfg.generation_key)

    grade = grade_target if cfg.eval_type else None
    if cfg.num_chunks is not None:
        touch_done(target)
        chunks = [chunk_path(output, k) for k in range(cfg.num_chunks)]
        if merge(output, chunks, grade):
            log(f"merged {cfg.num_chunks} chunks into {output}")
        return
    if grade is not None:
        grade(target)
    touch_done(target)
    mark_state(output, cfg.generation_key, "done")


def run(cfg: GenerateConfig, task_cls: type = GenerationTask) -> int:
    task = task_cls(cfg)
    src = input_path(cfg)
    output = Path(cfg.output_file) if cfg.output_file else None
    chunked = cfg.num_chunks is not None
    target = chunk_path(output, cfg.chunk_id) if (chunked and output) else output
    entries = read_input(src, cfg.prompt_format)
    if chunked:
        entries = [entries[i] for i in chunk_bounds(len(entries), cfg.num_chunks, cfg.chunk_id)]
    if cfg.max_samples > 0:
        entries = entries[: cfg.max_samples]
    requests = task.prepare(entries, src)  # bad input fails here, before any file is touched
    if task.prompt_notice:
        log(f"NOTE: {task.prompt_notice}")
    if requests:
        log("Example prompt:\n" + _shorten(task.describe(requests[0])))
    if cfg.dry_run:
        return 0
    from skills.data.lock import OwnerLock, lock_path

    target.parent.mkdir(parents=True, exist_ok=True)
    with OwnerLock(lock_path(target)).acquire(f"output {target}"):  # one writer per output
        if cfg.skip_filled and _already_done(cfg, output, target):
            return 0
        return _generate(cfg, task, src, output, target, entries, requests)


def _already_done(cfg: GenerateConfig, output: Path, target: Path) -> bool:
    if done_path(output).exists():  # for chunks: the merged output is already final
        log(f"{output} is complete; nothing to generate")
        return True
    if cfg.num_chunks is not None and done_path(target).exists():
        _finish(cfg, output, target)  # this chunk is done; maybe all are: merge
        return True
    if target.exists():
        log(f"{target} exists; nothing to generate")
        _finish(cfg, output, target)
        return True
    return False


def _generate(cfg: GenerateConfig, task: GenerationTask, src: Path, output: Path, target: Path,
              entries: List[Tuple[int, Dict[str, Any]]], requests: List[Any]) -> int:
    rows = [row for _, row in entries]
    aside = target.parent / f".{target.name}.previous"
    if not cfg.skip_filled:  # a fresh run: the old results stay aside until the new ones are complete
        if target.exists():
            os.replace(target, aside)
        for path in (done_path(output), done_path(target), journal_path(target)):
            path.unlink(missing_ok=True)
    journal = Journal(target, cfg.async_position_key)
    filled = {i for i in journal.open() if i < len(rows)}
    todo = [i for i in range(len(rows)) if i not in filled]
    if filled:
        log(f"resuming: {len(filled)} of {len(rows)} already generated")
    try:
        if todo:
            where = [f"{src}:{lineno}" for lineno, _ in entries]
            asyncio.run(run_requests(task, rows, requests, todo, journal, where))
    except BaseException:
        journal.close(quiet=True)  # the error in flight says what happened; do not mask it
        raise
    finally:
        task.close()
    journal.close()
    finalize(target, cfg.async_position_key, len(rows))
    _finish(cfg, output, target)
    aside.unlink(missing_ok=True)
    return 0


EXAMPLE_CHARS = 4000


def _shorten(text: str) -> str:
    """Job logs show the example prompt, not a 5 MB one."""
    if len(text) <= EXAMPLE_CHARS:
        return text
    return text[:EXAMPLE_CHARS] + f"\n... ({len(text) - EXAMPLE_CHARS} more characters not shown)"


def print_help(task_cls: type = GenerationTask, doc: str = "") -> None:
    print((doc or __doc__).strip().splitlines()[0])
    print("\nSettings (++key=value; defaults shown):")

    def walk(cls: Any, obj: Any, prefix: str) -> None:
        for f in dataclasses.fields(cls):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                walk(type(value), value, prefix + f.name + ".")
            else:
                print(f"  {prefix}{f.name} = {value!r}")

    schema = task_cls.config_class
    walk(schema, schema(), "")


def main(argv: Optional[Sequence[str]] = None, task_cls: type = GenerationTask, doc: str = "") -> int:
    """Entry point of a generation module: ``sys.exit(main(task_cls=TASK))``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("--help", "-h", "--hydra-help") for a in argv):
        print_help(task_cls, doc)
        return 0
    try:
        cfg = load_config(argv, task_cls.config_class, check=False)
        task_cls.check(cfg)
        return run(cfg, task_cls)
    except UsageError as exc:
        log(f"error: {exc.message}")
        return exc.exit_code
    except (ServerUnavailable, GenerationError, OutputWriteError) as exc:
        log(f"error: {exc}")
        return 1
    except OSError as exc:  # e.g. the disk filled up while the final file was written
        log(f"error: {exc.strerror or exc}: {exc.filename or ''} (rerun to resume)")
        return 1
    except KeyboardInterrupt:
        log("interrupted; rerun with ++skip_filled=True to resume")
        return 130


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
