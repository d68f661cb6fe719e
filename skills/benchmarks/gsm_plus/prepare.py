"""GSM-Plus data: the full test set of qintongli/GSM-Plus (8 perturbations of each GSM8K test question)
as the reference writes it, into ``test.jsonl`` and ``test_rounded.jsonl`` (the same rows, each
problem ending in the rounding instruction its answer calls for).

Beyond the walkthrough: the reference's own options, spelled as ``ns prepare_data`` passes them on:
``--categories=a,b`` (perturbation types, comma-separated; default all eight),
``--no_rounding_instructions`` (no ``test_rounded.jsonl``) and ``--cleaning=none|light|hard``
(keep only the rows the reference's ``cleaned_indexes.json`` lists; that file is fetched from the
pinned NeMo-Skills commit, or read from ``<mirror>/gsm-plus/cleaned_indexes.json``).
"""

import json
import tempfile
from pathlib import Path

from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits
from skills.data.io import download, iter_jsonl, write_jsonl
from skills.data.nemo_skills import NEMO_SKILLS_COMMIT, raw_url
from skills.data.sources import mirror_file

BENCH = "gsm-plus"
FILE = "data/test-00000-of-00001.jsonl"
URL = f"https://huggingface.co/datasets/qintongli/GSM-Plus/resolve/main/{FILE}?download=true"
CLEANED = "cleaned_indexes.json"
CATEGORIES = (
    "adding_operation", "critical_thinking", "digit_expansion", "distraction_insertion",
    "integer-decimal-fraction_conversion", "numerical_substitution", "problem_understanding",
    "reversing_operation",
)
RENAMED = ("answer", "expected_answer", "solution", "problem", "reference_solution")


def gsm_plus_row(raw: dict) -> dict:
    expected = raw.get("answer", None) or raw.get("expected_answer", None)
    row = {
        "problem": raw["question"],
        "reference_solution": raw.get("solution", None) or raw.get("reference_solution", None),
        "expected_answer": expected if expected != "None" else "insufficient",
        **{k: v for k, v in raw.items() if k not in RENAMED},
    }
    if str(row["expected_answer"]).replace(".", "", 1).replace("-", "", 1).isdigit():
        number = float(row["expected_answer"])
        row["expected_answer"] = int(number) if int(number) == number else number
    return row


def with_rounding(row: dict) -> dict:
    """The problem plus the instruction the answer's decimals call for (non-numbers: unchanged)."""
    try:
        float(row["expected_answer"])
    except ValueError:
        return row
    except TypeError:  # the reference stops here too
        raise UsageError(f"{BENCH}: a row has no answer: {row['problem'][:80]!r}") from None
    text = str(row["expected_answer"])
    decimals = len(text.split(".")[1]) if "." in text else 0
    if decimals == 0:
        tail = " Express the answer as an integer."
    elif decimals == 1:
        tail = " Round the answer to one decimal place."
    else:
        tail = f" Round the answer to {decimals} decimal places."
    return {**row, "problem": row["problem"] + tail}


def _options(extra: dict):
    extra = dict(extra)
    categories = extra.pop("categories", None)
    categories = set(categories.split(",")) if categories else set(CATEGORIES)
    rounding = extra.pop("no_rounding_instructions", "false").lower() not in ("true", "1", "yes")
    cleaning = extra.pop("cleaning", "none")
    if cleaning not in ("none", "light", "hard"):
        raise UsageError(f"{BENCH}: --cleaning must be none, light or hard, not {cleaning!r}")
    if extra:
        raise UsageError(f"{BENCH}: unknown prepare_data option --{next(iter(extra))} "
                         "(known: --categories, --no_rounding_instructions, --cleaning)")
    return categories, rounding, cleaning


def _kept_indexes(ctx, cleaning: str, tmp: Path):
    if cleaning == "none":
        return None
    src = mirror_file(ctx.mirror, BENCH, CLEANED) if ctx.mirror else download(
        raw_url(f"nemo_skills/dataset/{BENCH}/{CLEANED}", NEMO_SKILLS_COMMIT), tmp / CLEANED)
    try:
        return set(json.loads(src.read_text(encoding="utf-8"))[cleaning])
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{src}: expected a JSON object of index lists with key {cleaning!r} ({exc})") from None


def prepare(ctx):
    pick_splits(BENCH, ctx.split, "test", ["test"])
    categories, rounding, cleaning = _options(ctx.extra)
    with tempfile.TemporaryDirectory() as tmp:
        keep = _kept_indexes(ctx, cleaning, Path(tmp))
        src = mirror_file(ctx.mirror, BENCH, FILE) if ctx.mirror else download(URL, Path(tmp) / "test.jsonl")
        rows = []
        for i, (lineno, raw) in enumerate(iter_jsonl(src)):
            try:
                if raw["perturbation_type"].replace(" ", "_") in categories and (keep is None or i in keep):
                    rows.append(gsm_plus_row(raw))
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                raise UsageError(f"{src}:{lineno}: unexpected row ({type(exc).__name__}: {exc})") from None
    written = [out_file(ctx.data_dir, BENCH, "test")]
    write_jsonl(written[0], rows)
    if rounding:
        written.append(out_file(ctx.data_dir, BENCH, "test_rounded"))
        write_jsonl(written[1], [with_rounding(r) for r in rows])
    return written
