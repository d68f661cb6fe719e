"""``ns prepare_data livecodebench``: upstream release files -> date-window splits.

Per split it writes ``<split>.jsonl``, the generation input, with exactly the reference's fields
(``contest_date``, ``difficulty``, ``task_id``, ``question``, ``subset_for_metrics``,
``release_version``; all 11 upstream fields too with ``--keep_all_columns``) and no tests, and
``<split>.tests.jsonl``: per problem ``question_id`` and the upstream test fields, private tests
still encoded, which the grader reads (the reference re-downloads them at grading time instead).

Options: ``--split`` (a ``test_<vN>_<YYMM>_<YYMM>`` name, default ``all``: the reference's four),
or the reference's ``--release_version vN --start_date YYYY-MM --end_date YYYY-MM``;
``--keep_all_columns``; ``--revision`` (HF commit of ``livecodebench/code_generation_lite``).
Upstream files come from the mirror (``<mirror>/livecodebench/test.jsonl`` ... ``test6.jsonl``) or
the HF hub; each file is read once however many splits need it.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from skills.benchmarks.livecodebench import DEFAULT_SPLITS, HF_REPO
from skills.benchmarks.livecodebench.releases import FILES, Split
from skills.config.errors import UsageError
from skills.data.io import atomic_open
from skills.data.sources import hf_file, mirror_file

BENCH = "livecodebench"
UPSTREAM_FIELDS = ("question_title", "question_content", "platform", "question_id", "contest_id", "contest_date",
                   "starter_code", "difficulty", "public_test_cases", "private_test_cases", "metadata")
TEST_FIELDS = ("question_id", "public_test_cases", "private_test_cases", "metadata")
TESTS_SUFFIX = ".tests.jsonl"
_FLAGS = ("release_version", "start_date", "end_date")


def tests_file(data_dir: Path, split: str) -> Path:
    """Where prepare puts the tests of a split (and where the grader looks for them)."""
    return Path(data_dir) / BENCH / f"{split}{TESTS_SUFFIX}"


def build_question(row: dict, sentences: Dict[str, str]) -> str:
    """The statement, the formatting sentence and a code block, as the reference writes it, with
    every run of four spaces turned into a tab (statement and starter code included)."""
    text = row["question_content"] + "\n\n"
    if row["starter_code"]:
        text += sentences["FORMATTING_MESSAGE_WITH_STARTER_CODE"] + "\n"
        text += "```python\n" + row["starter_code"] + "\n```\n\n"
    else:
        text += sentences["FORMATTING_WITHOUT_STARTER_CODE"] + "\n\n"
        text += "```python\n# YOUR CODE HERE\n```\n\n"
    return text.replace("    ", "\t")


def format_row(row: dict, release: str, sentences: Dict[str, str], keep_all_columns: bool = False) -> dict:
    out = dict(row) if keep_all_columns else {"contest_date": row["contest_date"], "difficulty": row["difficulty"]}
    out["task_id"] = row["question_id"]
    out["question"] = build_question(row, sentences)
    out["subset_for_metrics"] = row["difficulty"]
    out["release_version"] = release
    return out


def pick_splits(ctx) -> Tuple[List[Split], bool, Optional[str]]:
    """(splits, keep_all_columns, revision) from --split or the reference's three flags."""
    extra = dict(ctx.extra)
    keep = extra.pop("keep_all_columns", "false").lower() in ("true", "1", "yes")
    revision = extra.pop("revision", None)
    flags = {k: extra.pop(k) for k in _FLAGS if k in extra}
    if extra:
        raise UsageError(f"{BENCH}: unknown prepare_data option --{next(iter(extra))}")
    if flags:
        if len(flags) < 3 or ctx.split:
            raise UsageError(f"{BENCH}: a custom split needs all of --release_version, --start_date and "
                             "--end_date (and no --split)")
        return [Split.from_months(*(flags[k] for k in _FLAGS))], keep, revision
    names = DEFAULT_SPLITS if ctx.split in (None, "all") else ctx.split.split(",")
    return [Split.parse(n.strip()) for n in dict.fromkeys(names)], keep, revision


def upstream_rows(path: Path) -> Iterator[dict]:
    """Rows of one upstream file, with a progress bar (release files are GB-sized)."""
    from tqdm import tqdm

    tty = sys.stderr.isatty()
    with open(path, "rb") as fh, tqdm(total=path.stat().st_size, unit="B", unit_scale=True, file=sys.stderr,
                                      desc=f"{BENCH}/{path.name}", mininterval=0.5 if tty else 30.0) as bar:
        for lineno, line in enumerate(fh, 1):
            bar.update(len(line))
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"{path}:{lineno}: not valid JSON ({exc})") from None
            missing = [f for f in UPSTREAM_FIELDS if not isinstance(row, dict) or not isinstance(row.get(f), str)]
            if missing:
                raise UsageError(f"{path}:{lineno}: not an upstream LiveCodeBench row "
                                 f"(field {missing[0]} missing or not a string)")
            yield row


def source(ctx, name: str, revision: Optional[str]) -> Path:
    return mirror_file(ctx.mirror, BENCH, name) if ctx.mirror else hf_file(HF_REPO, name, gated=False,
                                                                           revision=revision)


def prepare(ctx):
    from skills.benchmarks.livecodebench.upstream import formatting_sentences

    splits, keep, revision = pick_splits(ctx)
    sentences = formatting_sentences()
    outputs = [(s, Path(ctx.data_dir) / BENCH / f"{s.name}.jsonl", tests_file(ctx.data_dir, s.name)) for s in splits]
    counts = {s.name: 0 for s in splits}
    with ExitStack() as stack:
        handles = [(s, stack.enter_context(atomic_open(p)), stack.enter_context(atomic_open(t)))
                   for s, p, t in outputs]
        for name in (f for f in FILES if any(f in s.files for s in splits)):
            for row in upstream_rows(source(ctx, name, revision)):
                for split, out, tests in handles:
                    if name in split.files and split.contains(row["contest_date"]):
                        out.write(json.dumps(format_row(row, split.release, sentences, keep)) + "\n")
                        tests.write(json.dumps({k: row[k] for k in TEST_FIELDS}) + "\n")
                        counts[split.name] += 1
    for name, n in counts.items():
        print(f"{BENCH}: {name}: {n} problems", file=sys.stderr)
    return [f for _, path, tests in outputs for f in (path, tests)]
