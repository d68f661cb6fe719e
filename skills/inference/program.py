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
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.config.secrets import mask_url
from skills.data.io import done_path, touch_done
from skills.data.recorded import settings_path, write_settings
from skills.inference.client import Client, GenerationError, ServerUnavailable, settings_from_config
from skills.inference.config import GenerateConfig
from skills.inference.merge_chunks import chunk_path, merge
from skills.inference.progress import (PROGRESS_ENV, Progress, benchmark_label, first_to_say, mark_state,
                                       run_label)
from skills.inference.resume import Journal, finalize, journal_path, resume_refusal
from skills.inference.rows import RowSource
from skills.inference.settings import check_config, load_config, log, split_argv
from skills.inference.task import STATS, GenerationTask, build_output, source_key_for, task_of

FLUSH_EVERY_S = 0.2
__all__ = ["STATS", "GenerationTask", "build_output", "check_config", "grade_output", "load_config", "main",
           "run", "run_requests", "split_argv", "task_of"]


def grade_output(path: Path, eval_type: str, eval_config: Any, generation_key: str = "generation") -> None:
    from skills.evaluation import grade_file

    if first_to_say(f"grading {path.parent}"):  # under ns: once per benchmark; the display shows each seed
        log(f"grading {path} (eval_type={eval_type})" if not os.environ.get(PROGRESS_ENV) else
            f"grading {path.parent}/output*.jsonl as each finishes (eval_type={eval_type})")
    grade_file(path, eval_type, dict(eval_config or {}), generation_key=generation_key)


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


WINDOW_PER_SLOT = 2  # rows in progress per request slot: a row in a retry's backoff or between the
# requests of a conversation holds a place in the window but no slot, so the slots stay busy meanwhile


async def run_requests(task: GenerationTask, items: Iterable[Tuple[int, Dict[str, Any], Any, Optional[str]]],
                       journal: Journal, total: int, count: int) -> int:
    """Process the pending rows of a run of ``total`` rows: ``items`` yields ``count`` of them as
    (index, row, request, where: its input line for errors, or None); results go to the journal as
    they finish.

    A fixed pool of workers, ``WINDOW_PER_SLOT`` per request slot (``max_concurrent_requests`` per
    endpoint: the ceiling of each endpoint's adaptive limit), takes
    the rows in order: only that window of rows is in progress at any time and ``items`` is consumed
    as they go, so memory does not grow with the input; a finished row costs its worker one step, not
    a look at every pending row."""
    cfg = task.cfg
    settings = settings_from_config(cfg)
    async with Client(settings, say=log) as client:
        # said only when the server does not answer at once, and once per job (its runs share the server)
        await client.wait_for_server(on_wait=lambda: first_to_say(f"wait {settings.base_url}") and log(
            f"waiting for the server at {mask_url(settings.base_url)}"))
        output = Path(cfg.output_file) if cfg.output_file else None
        if output is not None and cfg.num_chunks is not None:  # each chunk of a seed has its own progress
            output = chunk_path(output, cfg.chunk_id)
        progress = Progress(total, total - count, run_label(output, cfg.generation_key),
                            lambda: client.retries)
        source_key = source_key_for(cfg.generation_key)
        soft_failed: List[str] = []
        flush_at = max(1, cfg.max_concurrent_requests)  # a kill loses at most one such batch
        slots = cfg.max_concurrent_requests * len(client.pool)  # each endpoint's ceiling

        async def one(i: int, row: Dict[str, Any], request: Any, where: Optional[str]) -> None:
            try:
                out = await task.process(row, request, client)
            except GenerationError as exc:
                named = f"{where}: {exc}" if where else str(exc)
                if not cfg.soft_fail:
                    raise GenerationError(named) from None
                # e.g. a prompt longer than the context: record it, keep the other hours of work
                out = task.failed(row, exc)
                failed = True
                soft_failed.append(named)
            else:
                failed = False
            if task.prompt_source is not None:
                out[source_key] = task.prompt_source
            journal.add(i, out)
            if len(journal.buffer) >= flush_at:
                _flush(journal)
            progress.update(out.get("num_generated_tokens"), failed)

        pending = iter(items)

        async def worker() -> None:
            for item in pending:
                await one(*item)

        flusher = asyncio.create_task(_flusher(journal))
        workers = [asyncio.create_task(worker())
                   for _ in range(max(1, min(count, WINDOW_PER_SLOT * slots)))]
        finished = asyncio.gather(*workers)
        finished.add_done_callback(lambda f: f.cancelled() or f.exception())  # read below, or moot once cancelled
        try:
            # until every row is done, or a row or the journal fails
            await asyncio.wait({finished, flusher}, return_when=asyncio.FIRST_COMPLETED)
            failed = finished.done() and finished.exception() is not None
            if failed or not finished.done():  # a row failed for good, or the flusher: the journal
                finished.cancel()
                for w in workers:
                    w.cancel()
                await asyncio.wait(workers)
                if not failed:
                    raise flusher.exception()
                first = finished.exception()
                raise _first_error([first, *[w.exception() for w in workers if not w.cancelled()
                                             and w.exception() not in (None, first)]])
        finally:
            flusher.cancel()
            for w in workers:
                w.cancel()
            progress.close("failed" if sys.exc_info()[0] else "generated")
            _flush(journal)
        if client.retries:
            log(f"{client.retries} request attempts were retried ({client.retry_summary()})")
        if len(client.pool) > 1 or any(ep.conc.backoffs for ep in client.pool.endpoints):
            for line in client.endpoint_summary():  # per replica: what each did, and its concurrency
                log(line)
        if soft_failed:
            log(f"warning: {len(soft_failed)} of {count} rows failed and were kept as empty generations with "
                f"an 'error' field (soft_fail); the first: {soft_failed[0]}")
    return count


def _first_error(failed: List[BaseException]) -> BaseException:
    """The first failure, naming the other rows that failed for good at the same time."""
    first = failed[0]
    others = [str(e).split(": ", 1)[0] for e in failed[1:] if isinstance(e, GenerationError)]
    if not isinstance(first, GenerationError) or not others:
        return first
    shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
    return GenerationError(f"{first} (rows that failed as well: {shown})")


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


def prepare_rows(cfg: GenerateConfig, task_cls: type = GenerationTask) -> Tuple[GenerationTask, RowSource]:
    """(task, this run's rows): every row read, its request built and the run fingerprinted; bad
    input fails here."""
    task = task_cls(cfg)
    try:
        return task, RowSource(cfg, task)
    except BaseException:
        task.close()
        raise


def resume_problem(cfg: GenerateConfig, task_cls: type, target: Path) -> Optional[str]:
    """Why a run with ``cfg`` could not resume the journal of ``target`` (the planners ask before
    starting anything; the run itself refuses too), or None."""
    if not journal_path(target).exists():
        return None
    task, source = prepare_rows(cfg, task_cls)
    try:
        return resume_refusal(journal_path(target), cfg.async_position_key, source.fingerprint)
    finally:
        task.close()


def run(cfg: GenerateConfig, task_cls: type = GenerationTask) -> int:
    output = Path(cfg.output_file) if cfg.output_file else None
    chunked = cfg.num_chunks is not None
    target = chunk_path(output, cfg.chunk_id) if (chunked and output) else output
    task, source = prepare_rows(cfg, task_cls)  # bad input fails here, before any file is touched
    if task.prompt_notice:
        log(f"NOTE: {task.prompt_notice}")
    if len(source) and first_to_say(f"example {benchmark_label(output, cfg.generation_key)}"):  # once per benchmark
        log("Example prompt:\n" + _shorten(task.describe(source.first_request)))
    if cfg.dry_run:
        return 0
    from skills.data.lock import OwnerLock, lock_path

    target.parent.mkdir(parents=True, exist_ok=True)
    with OwnerLock(lock_path(target)).acquire(f"output {target}"):  # one writer per output
        restore_aside(target)
        if cfg.skip_filled and _already_done(cfg, output, target):
            return 0
        return _generate(cfg, task, source, output, target)


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


def _aside(path: Path) -> Path:
    return path.parent / f".{path.name}.previous"


def restore_aside(target: Path) -> None:
    """A rerun killed between moving the previous results aside and writing its first row leaves
    neither output nor journal: the previous results come back."""
    aside = _aside(target)
    if aside.exists() and not target.exists() and not journal_path(target).exists():
        os.replace(aside, target)
        log(f"restored the previous results {target} from {aside.name} (a rerun stopped before its first row)")


class _Rerun:
    """``--rerun_done``: the previous results stay where they are until the new run has finished
    its first row (``move``, called by the journal's first write), and are deleted once it completes."""

    def __init__(self, output: Path, target: Path):
        self.output, self.target = output, target
        self.moved: List[Path] = []

    def move(self) -> None:
        for marker in dict.fromkeys((done_path(self.target), done_path(self.output))):
            marker.unlink(missing_ok=True)  # first: a marker must never outlive its results
        for record in dict.fromkeys((settings_path(self.target), settings_path(self.output))):
            record.unlink(missing_ok=True)  # nor the settings it was made with
        for path in (journal_path(self.target), self.target):
            if path.exists():
                os.replace(path, _aside(path))
                self.moved.append(_aside(path))
        if self.moved:
            log(f"previous results moved aside until this run completes: {', '.join(map(str, self.moved))}")

    def finish(self) -> None:
        for path in self.moved + [_aside(self.target), _aside(journal_path(self.target))]:
            path.unlink(missing_ok=True)

    def failed(self) -> None:
        if self.moved:
            log(f"the previous results are kept in {', '.join(map(str, self.moved))} (rename them back to "
                "restore them, or rerun to complete this run)")


def _generate(cfg: GenerateConfig, task: GenerationTask, source: RowSource, output: Path, target: Path) -> int:
    total = len(source)
    journal = Journal(target, cfg.async_position_key, source.fingerprint)
    made_with = task.settings_fingerprint(cfg, source.src)  # recorded with the final file (skills.data.recorded)
    rerun = _Rerun(output, target)
    if not cfg.skip_filled:  # a fresh run: old results stay until the new run has a finished row
        journal.before_first_write = rerun.move
    filled = {i for i in journal.open(resume=cfg.skip_filled) if i < total}
    if journal.unchecked:
        log(f"note: {journal.path} records no fingerprint (an older version wrote it): resuming without "
            "checking that its rows were made from the same input and settings")
    if filled:
        log(f"resuming: {len(filled)} of {total} already generated")
    try:
        if len(filled) < total:
            pending = ((i, row, request, f"{source.src}:{lineno}") for i, lineno, row, request in source.rows()
                       if i not in filled)
            asyncio.run(run_requests(task, pending, journal, total, total - len(filled)))
        journal.close()
        finalize(target, cfg.async_position_key, total)
        write_settings(target, made_with)  # before .done: what made this output
    except BaseException:
        journal.close(quiet=True)  # the error in flight says what happened; do not mask it
        rerun.failed()
        raise
    finally:
        task.close()
    rerun.finish()
    _finish(cfg, output, target)
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
