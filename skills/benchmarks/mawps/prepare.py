"""MAWPS data: microsoft/ToRA's four subsets one after the other (addsub, singleeq, singleop,
multiarith) as the reference writes them: ``problem`` (``input``), ``expected_answer`` (``target``,
an int when whole) and ``type`` (the subset)."""

import tempfile
from pathlib import Path

from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra, whole
from skills.data.io import download, iter_jsonl, write_jsonl
from skills.data.sources import mirror_file

URL = "https://raw.githubusercontent.com/microsoft/ToRA/main/src/data/mawps/{subset}.jsonl"
SUBSETS = ("addsub", "singleeq", "singleop", "multiarith")


def prepare(ctx):
    pick_splits("mawps", ctx.split, "test", ["test"])
    reject_extra("mawps", ctx.extra)
    rows = []
    for subset in SUBSETS:
        with tempfile.TemporaryDirectory() as tmp:
            src = mirror_file(ctx.mirror, "mawps", f"{subset}.jsonl") if ctx.mirror \
                else download(URL.format(subset=subset), Path(tmp) / f"{subset}.jsonl")
            for lineno, raw in iter_jsonl(src):
                try:
                    rows.append({"problem": raw["input"], "expected_answer": whole(raw["target"]), "type": subset})
                except (KeyError, TypeError, ValueError):
                    raise UsageError(f"{src}:{lineno}: expected 'input' and a numeric 'target'") from None
    dest = out_file(ctx.data_dir, "mawps", "test")
    write_jsonl(dest, rows)
    return [dest]
