"""Fixtures and helpers shared by the IFBench tests: the grader environment and the NLTK data.

The checkers run in ``.venv-ifbench`` (``scripts/setup.sh``); without it the tests that grade skip
locally and fail in CI, like every other missing prerequisite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import read_jsonl  # noqa: F401  (re-exported for the IFBench tests)

from conftest import environment_or_missing, missing

# kwargs keys of the real data that these checkers do not take: every row carries them as None.
NONE_KEYS = ("N", "small_n", "keyword", "percentage", "prompt_to_repeat", "min_words", "max_words", "sep",
             "options", "word", "reference_text", "n_start", "n_end")


def kwargs(**given) -> dict:
    """A data-style kwargs dict: the given values plus unrelated keys set to None."""
    return {**dict.fromkeys(NONE_KEYS), **given}


def row(key: str, ids: List[str], kws: List[dict], response: str) -> Dict:
    prompt = f"[{key}] a request with {len(ids)} instruction(s)"
    return {"key": key, "prompt": prompt, "instruction_id_list": ids, "kwargs": kws, "question": prompt,
            "response": response}


def write_jsonl(path: Path, rows: List[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def ifbench_python() -> str:
    return environment_or_missing("ifbench", "IFBench grader")


@pytest.fixture(scope="session")
def nltk_dir(mirror_dir: Path) -> Path:
    path = mirror_dir / "nltk_data"
    if not path.is_dir():
        missing(f"no NLTK data in the mirror ({path})")
    return path
