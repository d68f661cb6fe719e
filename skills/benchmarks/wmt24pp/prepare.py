"""WMT24++ preparation: HF ``google/wmt24pp`` file ``en-<lang>.jsonl`` per target language (the
config ``en-<lang>``, split ``train``), every row kept (the canary and ``is_bad_source`` rows too),
written as the reference's ``test.jsonl``: ``text`` = source, ``translation`` = the post-edited
``target``, languages by code and by English name (``langcodes``).

``--target_languages=de_DE,ja_JP`` (commas or spaces) picks other pairs; the mirror is
``<mirror>/wmt24pp/en-<lang>.jsonl``.
"""

from __future__ import annotations

from typing import List

from skills.benchmarks.wmt24pp import HF_REPO, TARGET_LANGUAGES
from skills.config.errors import UsageError
from skills.data.fields import language_name, out_file, pick_splits, reject_extra, value_list
from skills.data.io import read_jsonl, write_jsonl
from skills.data.sources import hf_file, mirror_file

BENCH = "wmt24pp"


def rows_for(target: str, upstream: List[dict]) -> List[dict]:
    name = language_name(target[:2])
    out = []
    for i, row in enumerate(upstream, 1):
        if not isinstance(row, dict) or "source" not in row or "target" not in row:
            raise UsageError(f"{BENCH} en-{target}: entry {i} lacks source/target")
        out.append({"text": row["source"], "translation": row["target"], "source_language": "en",
                    "target_language": target, "source_lang_name": "English", "target_lang_name": name})
    return out


def prepare(ctx):
    extra = dict(ctx.extra)
    targets = value_list(extra.pop("target_languages", " ".join(TARGET_LANGUAGES)), "target_languages")
    reject_extra(BENCH, extra)
    pick_splits(BENCH, ctx.split, "test", ["test"])
    rows: List[dict] = []
    for target in targets:
        name = f"en-{target}.jsonl"
        src = mirror_file(ctx.mirror, BENCH, name) if ctx.mirror else hf_file(HF_REPO, name, gated=False)
        rows.extend(rows_for(target, read_jsonl(src)))
    dest = out_file(ctx.data_dir, BENCH, "test")
    write_jsonl(dest, rows)
    return [dest]
