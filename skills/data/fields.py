"""Small helpers shared by the benchmarks' prepare functions."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from skills.config.errors import UsageError


def mcq_fields(question: str, choices: Sequence[str]) -> Dict[str, str]:
    """``problem`` (question + lettered options), ``options`` and one key per letter, as the reference writes them."""
    letters = string.ascii_uppercase[: len(choices)]
    options = "\n".join(f"{letter}) {choice}" for letter, choice in zip(letters, choices))
    fields = {"problem": question.strip("\n") + "\n\n" + options, "options": options}
    fields.update(zip(letters, choices))
    return fields


def pick_splits(bench: str, requested: Optional[str], default: str, allowed: Sequence[str]) -> List[str]:
    """Validate ``--split`` (``all`` expands to every allowed split)."""
    split = requested or default
    if split == "all":
        return list(allowed)
    if split not in allowed:
        raise UsageError(f"{bench}: unknown split {split!r}; choose from {', '.join([*allowed, 'all'])}")
    return [split]


def reject_extra(bench: str, extra: Dict[str, str]) -> None:
    """Unknown pass-through flags are typos, not silently ignored options."""
    if extra:
        raise UsageError(f"{bench}: unknown prepare_data option --{next(iter(extra))}")


def whole(value):
    """A number that is whole as an int (``72.0`` -> ``72``), else unchanged: the reference writes
    integer answers without a decimal point ("cleaner text-only representation")."""
    return int(value) if int(value) == value else value


def moved_last(row: Dict, old: str, new: str) -> Dict:
    """``row`` with ``old`` renamed to ``new`` and moved to the end (``row[new] = row.pop(old)``), the
    key order the reference's files have."""
    row = dict(row)
    row[new] = row.pop(old)
    return row


def out_file(data_dir: Path, bench: str, split: str) -> Path:
    return Path(data_dir) / bench / f"{split}.jsonl"


def value_list(value: str, option: str) -> List[str]:
    """A list option of prepare_data (``--target_languages=de_DE,ja_JP``: commas or spaces)."""
    values = [v for v in value.replace(",", " ").split() if v]
    if not values:
        raise UsageError(f"--{option} is empty")
    return values


def language_name(code: str) -> str:
    """English name of a language code, as the reference's translation data gets it (``langcodes``)."""
    try:
        from langcodes import Language
    except ImportError:
        raise UsageError("preparing translation data needs langcodes: pip install 'skills[hf]'") from None
    return Language(code).display_name()
