"""FLORES-200 preparation: HF ``openlanguagedata/flores_plus`` (gated), one parquet file per language
``<split>/<iso639-3>_<script>.parquet`` (``deu_Latn``, ``jpn_Jpan``, ... from ``langcodes``), column
``text``; one row per sentence for every ordered pair src != tgt (sources outer, targets inner, as
the reference loops), sentences zipped by position.

``--source_languages`` / ``--target_languages`` (commas or spaces; default en de es fr it ja),
``--split dev|devtest``; the mirror is ``<mirror>/flores200/<split>/<config>.parquet``.
"""

from __future__ import annotations

from typing import Dict, List

from skills.benchmarks.flores200 import HF_REPO, LANGUAGES, SPLITS
from skills.config.errors import UsageError
from skills.data.fields import language_name, out_file, pick_splits, reject_extra, value_list
from skills.data.io import write_jsonl
from skills.data.sources import hf_file, mirror_file, read_parquet

BENCH = "flores200"


def config_name(lang: str) -> str:
    """``de`` -> ``deu_Latn``: ISO 639-3 code and the likely script, as the reference builds it."""
    from langcodes import Language

    return f"{Language(lang).to_alpha3()}_{Language(lang).maximize().script}"


def pair_rows(texts: Dict[str, List[str]], sources: List[str], targets: List[str]) -> List[dict]:
    rows = []
    for src in sources:
        for tgt in targets:
            if src == tgt:
                continue
            if len(texts[src]) != len(texts[tgt]):
                raise UsageError(f"{BENCH}: {src} has {len(texts[src])} sentences but {tgt} has {len(texts[tgt])}")
            names = (language_name(src), language_name(tgt))
            for a, b in zip(texts[src], texts[tgt]):
                rows.append({"text": a, "translation": b, "source_language": src, "target_language": tgt,
                             "source_lang_name": names[0], "target_lang_name": names[1]})
    return rows


def prepare(ctx):
    extra = dict(ctx.extra)
    sources = value_list(extra.pop("source_languages", " ".join(LANGUAGES)), "source_languages")
    targets = value_list(extra.pop("target_languages", " ".join(LANGUAGES)), "target_languages")
    reject_extra(BENCH, extra)
    (split,) = pick_splits(BENCH, ctx.split, "devtest", list(SPLITS))
    language_name("en")  # langcodes present: one clear line before any download
    texts: Dict[str, List[str]] = {}
    for lang in dict.fromkeys(sources + targets):
        name = f"{split}/{config_name(lang)}.parquet"
        src = mirror_file(ctx.mirror, BENCH, name) if ctx.mirror else hf_file(HF_REPO, name, gated=True)
        texts[lang] = [r["text"] for r in read_parquet(src, ["text"])]
    dest = out_file(ctx.data_dir, BENCH, split)
    write_jsonl(dest, pair_rows(texts, sources, targets))
    return [dest]
