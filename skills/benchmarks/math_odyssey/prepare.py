"""MathOdyssey data: ``final-odyssey-math-with-levels.jsonl`` as the reference writes it.

Each line is ``{"Problem_N": {...}}``. The answers end in one of several LaTeX tails (a line break
then ``\\noindent``); the reference cuts each tail it finds (checked in the order of ``ENDINGS``,
each on the answer left by the previous cut), then strips stray backslashes, one final period and
every ``$``. ``original_answer`` keeps the text as published. The problem loses its
``\\underline{\\hspace{2cm}}`` blanks and everything from ``\\end{problem}`` on.
"""

import tempfile
from pathlib import Path

from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra
from skills.data.io import download, iter_jsonl, write_jsonl
from skills.data.sources import mirror_file

FILE = "final-odyssey-math-with-levels.jsonl"
URL = f"https://raw.githubusercontent.com/protagolabs/odyssey-math/main/{FILE}"
ENDINGS = (
    "\\\\\n\\noindent",
    "\\\\\n\n\\noindent",
    "\\\\\n\t\\noindent",
    ".\n\n\\noindent",
    "\n\n\\noindent",
    "\\\\\n\n  \n\t\\noindent",
    "\\\\ \n\t\\noindent",
    "\\\\\n\n\t\\noindent",
)
BLANK = "\\underline{\\hspace{2cm}}"
END = "\\end{problem}"


def clean_answer(answer: str) -> str:
    for ending in ENDINGS:
        if answer.endswith(ending):
            answer = answer[: -len(ending)].strip()
            if answer.startswith("\\") or answer.endswith("\\"):
                answer = answer.strip("\\").strip()
            if answer[-1] == ".":
                answer = answer[:-1]
            if "$" in answer:
                answer = answer.replace("$", "").strip()
    return answer


def odyssey_row(line: dict, where: str) -> dict:
    try:
        raw = next(iter(line.values()))
        answer = raw["answer"]
        row = {
            "problem": raw["question"],
            "expected_answer": clean_answer(answer),
            "original_answer": answer,
            "reference_solution": raw["reasoning"],
            "label": raw["label"],
            "level": raw["level"],
        }
    except (StopIteration, KeyError, TypeError, AttributeError, IndexError):
        raise UsageError(f"{where}: expected {{\"Problem_N\": {{question, answer, reasoning, label, level}}}}"
                         ) from None
    parts = row["problem"].replace(BLANK, "").split(END)
    if len(parts) != 2:
        raise UsageError(f"{where}: the question should contain {END} once")
    row["problem"] = parts[0].strip()
    return row


def prepare(ctx):
    pick_splits("math-odyssey", ctx.split, "test", ["test"])
    reject_extra("math-odyssey", ctx.extra)
    with tempfile.TemporaryDirectory() as tmp:
        src = mirror_file(ctx.mirror, "math-odyssey", FILE) if ctx.mirror else download(URL, Path(tmp) / FILE)
        rows = [odyssey_row(line, f"{src}:{lineno}") for lineno, line in iter_jsonl(src)]
    dest = out_file(ctx.data_dir, "math-odyssey", "test")
    write_jsonl(dest, rows)
    return [dest]
