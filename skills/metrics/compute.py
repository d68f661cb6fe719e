"""Read one benchmark's result files in lockstep and compute its metrics (eval-metrics.md 2.1).

Line i of every file is problem i (file order = plain string sort, so ``rs10`` < ``rs2``, as in the
reference). The first file's ``subset_for_metrics`` routes a problem to an extra calculator, named
``<bench>-<subset>`` in first-appearance order after ``<bench>`` itself.
"""

from __future__ import annotations

import math
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.metrics.base import Calculator, Metrics, Scorer

try:  # optional speed-up: several times faster than json on large result folders
    import orjson

    _loads = orjson.loads
    _DecodeError: Tuple[type, ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover - exercised only without orjson
    import json

    _loads = json.loads
    _DecodeError = (ValueError,)


def _parse(line: bytes, path: Path, lineno: int) -> Dict[str, Any]:
    try:
        row = _loads(line)
    except _DecodeError as exc:
        raise UsageError(f"{path}:{lineno}: malformed JSON line ({exc})") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}:{lineno}: not UTF-8 ({exc})") from None
    if not isinstance(row, dict):
        raise UsageError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
    return row


def read_lockstep(files: Sequence[Path], max_samples: int = -1) -> Iterator[List[Dict[str, Any]]]:
    """Yield, for each line number, the parsed rows of all files; unequal lengths are an error."""
    with ExitStack() as stack:
        handles = [stack.enter_context(open(f, "rb")) for f in files]
        lineno = 0
        while not 0 <= max_samples <= lineno:
            lines = [next(h, None) for h in handles]
            if None in lines:
                if any(line is not None for line in lines):
                    counts = ", ".join(
                        f"{f.name}: {lineno + (line is not None) + sum(1 for _ in h)}"
                        for f, h, line in zip(files, handles, lines)
                    )
                    raise UsageError(f"Result files in {files[0].parent} have different numbers of lines ({counts})")
                return
            lineno += 1
            yield [_parse(line, f, lineno) for line, f in zip(lines, files)]  # type: ignore[arg-type]


def _cut_long(rows: List[Dict[str, Any]], scorer: Scorer, max_seq_len: int) -> List[Dict[str, Any]]:
    """Generations longer than ``max_seq_len`` tokens count as wrong, with no answer."""
    out = rows
    for i, row in enumerate(rows):
        tokens = row.get("num_generated_tokens")
        if tokens is not None and int(tokens) > max_seq_len:
            if out is rows:
                out = list(rows)
            out[i] = scorer.incorrect_sample(row)
    return out


def compute_metrics(
    benchmark: str,
    files: Sequence[Path],
    scorer: Scorer,
    max_samples: int = -1,
    max_seq_len: Optional[int] = None,
    with_ci: bool = False,
) -> Dict[str, Metrics]:
    """``{<bench>: {mode: {...}}, <bench>-<subset>: ...}`` for one benchmark's files."""
    n = len(files)
    if scorer.corpus_level:
        seen = [0]

        def problems() -> Iterator[List[Dict[str, Any]]]:
            for rows in read_lockstep(files, max_samples):
                seen[0] += 1
                yield _cut_long(rows, scorer, max_seq_len) if max_seq_len is not None else rows

        try:
            out = scorer.corpus_metrics(benchmark, problems())
        except KeyError as exc:
            raise UsageError(f"{files[0].parent} line {seen[0]}: a row lacks the field {exc}") from None
        if seen[0] == 0:
            raise UsageError(f"No result rows in {files[0].parent} ({', '.join(f.name for f in files)})")
        return out
    calcs: Dict[str, Calculator] = {benchmark: Calculator(n, scorer.report_sum)}
    total = calcs[benchmark]
    lineno = 0
    for rows in read_lockstep(files, max_samples):
        lineno += 1
        scorer.review(files, lineno, rows)
        if max_seq_len is not None:
            rows = _cut_long(rows, scorer, max_seq_len)
        try:
            layout, vals = scorer.score_problem(rows)
            tokens = 0
            start, end = math.inf, -math.inf
            for r in rows:
                t = r.get("num_generated_tokens")
                if t is not None:
                    tokens += t
                s = r.get("generation_start_time")
                if s is not None and s < start:
                    start = s
                e = r.get("generation_end_time")
                if e is not None and e > end:
                    end = e
        except KeyError as exc:
            field = exc.args[0]
            where = _culprit(files, rows, lambda r: field not in r)
            raise UsageError(f"{where} line {lineno}: a row lacks the field {exc}") from None
        except TypeError as exc:
            where = _culprit(files, rows, lambda r: any(isinstance(r.get(k), str) for k in SCORE_FIELDS))
            raise UsageError(f"{where} line {lineno}: a value has an unexpected type ({exc})") from None
        tokens = tokens / n
        extras = scorer.problem_extras(rows)
        record = scorer.problem_record(rows)
        total.add(layout, vals, tokens, start, end, extras, record)
        subset = rows[0].get("subset_for_metrics")
        if subset is not None:
            name = f"{benchmark}-{subset}"
            calc = calcs.get(name)
            if calc is None:
                calc = calcs[name] = Calculator(n, scorer.report_sum)
            calc.add(layout, vals, tokens, start, end, extras, record)
    if lineno == 0:
        raise UsageError(f"No result rows in {files[0].parent} ({', '.join(f.name for f in files)})")
    return {name: scorer.finalize_records(scorer.finalize(calc.metrics(with_ci), calc.extras, calc.num_entries),
                                          calc.records)
            for name, calc in calcs.items()}


SCORE_FIELDS = ("symbolic_correct", "judge_correct", "num_generated_tokens", "generation_start_time",
                "generation_end_time")


def _culprit(files: Sequence[Path], rows: Sequence[dict], bad) -> str:
    """The first file whose row at this line shows the problem (else the benchmark folder)."""
    for path, row in zip(files, rows):
        if bad(row):
            return str(path)
    return str(files[0].parent)
