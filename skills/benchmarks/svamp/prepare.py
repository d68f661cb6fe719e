"""SVAMP data: ``SVAMP.json`` as the reference writes it: ``problem`` (body, with a period added when it
ends in a letter, a space, the question), ``expected_answer`` (an int when whole) and
``reference_equation``."""

import json
import tempfile
from pathlib import Path

from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra, whole
from skills.data.io import download, write_jsonl
from skills.data.sources import mirror_file

URL = "https://raw.githubusercontent.com/arkilpatel/SVAMP/main/SVAMP.json"


def svamp_row(raw: dict) -> dict:
    body = raw["Body"] + "." if raw["Body"][-1].isalpha() else raw["Body"]
    return {
        "problem": body + " " + raw["Question"],
        "expected_answer": whole(raw["Answer"]),
        "reference_equation": raw["Equation"],
    }


def prepare(ctx):
    pick_splits("svamp", ctx.split, "test", ["test"])
    reject_extra("svamp", ctx.extra)
    with tempfile.TemporaryDirectory() as tmp:
        src = mirror_file(ctx.mirror, "svamp", "SVAMP.json") if ctx.mirror else download(URL, Path(tmp) / "SVAMP.json")
        try:
            rows = [svamp_row(raw) for raw in json.loads(src.read_text(encoding="utf-8"))]
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise UsageError(f"{src}: not the SVAMP JSON array (Body, Question, Answer, Equation): {exc}") from None
    dest = out_file(ctx.data_dir, "svamp", "test")
    write_jsonl(dest, rows)
    return [dest]
