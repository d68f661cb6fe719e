"""Rows for the IFBench checker tests: data-style kwargs and one row per crafted response."""

from __future__ import annotations

from typing import Dict, List

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
