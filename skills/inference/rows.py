"""The rows of one generation run and their requests, read from the input file as they are needed.

A run reads its input twice: once before anything starts, to check every row, build every
request (a prompt field a line lacks fails here, before any file is touched) and fingerprint the
run for the resume journal; then again while the requests go out, a batch of rows at a time. Only
the batch being prepared and the rows in progress are in memory, so a run of 40,000 rows needs no
more memory than one of 2,500. A task that overrides ``prepare`` is given every row at once, as
its ``prepare`` may depend on them all; its rows and requests are then kept in memory.
"""

from __future__ import annotations

import itertools
from typing import Any, Dict, Iterator, List, Optional, Tuple

from skills.config.fingerprint import Fingerprint
from skills.inference.config import GenerateConfig
from skills.inference.merge_chunks import chunk_bounds
from skills.inference.settings import input_path, iter_input, no_rows
from skills.inference.task import GenerationTask

PREPARE_BATCH = 512  # rows prepared at a time while the requests go out

Row = Tuple[int, int, Dict[str, Any], Any]  # (index in this run, input line number, row, request)


class RowSource:
    """This run's rows (its chunk, its ``max_samples``) of ``input_path(cfg)``; checked, prepared and
    fingerprinted on construction (``fingerprint``, ``first_request``). ``rows()`` yields them again."""

    def __init__(self, cfg: GenerateConfig, task: GenerationTask):
        self.cfg, self.task = cfg, task
        self.src = input_path(cfg)
        self.lazy = type(task).prepare is GenerationTask.prepare
        total = sum(1 for _ in iter_input(self.src, cfg.prompt_format))  # every line checked, none kept
        if not total:
            raise no_rows(self.src)
        span = chunk_bounds(total, cfg.num_chunks, cfg.chunk_id) if cfg.num_chunks is not None else range(total)
        if cfg.max_samples > 0:
            span = span[: cfg.max_samples]
        self.span = span
        self.first_request: Optional[Any] = None
        self._kept: Optional[List[Row]] = None
        if not self.lazy:
            entries = list(self._entries())
            self._kept = [(i, lineno, row, req) for i, ((lineno, row), req)
                          in enumerate(zip(entries, task.prepare(entries, self.src)))]
        self.fingerprint: Fingerprint = task.fingerprint(self.src, (req for *_, req in self._remember_first()))

    def __len__(self) -> int:
        return len(self.span)

    def _entries(self) -> Iterator[Tuple[int, Dict[str, Any]]]:
        return itertools.islice(iter_input(self.src, self.cfg.prompt_format), self.span.start, self.span.stop)

    def _remember_first(self) -> Iterator[Row]:
        for item in self.rows():
            if self.first_request is None:
                self.first_request = item[3]
            yield item

    def rows(self) -> Iterator[Row]:
        """(index, line number, row, request) of every row of the run, in input order."""
        if self._kept is not None:
            yield from self._kept
            return
        entries, index = self._entries(), 0
        while batch := list(itertools.islice(entries, PREPARE_BATCH)):
            for (lineno, row), request in zip(batch, self.task.prepare(batch, self.src)):
                yield index, lineno, row, request
                index += 1

