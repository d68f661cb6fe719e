"""ASDiv data: every ``<Problem>`` of ``ASDiv.xml`` as the reference writes it: ``problem`` (body and
question, stripped, joined by a space), ``expected_answer`` (the answer text before its ``(unit)``,
kept a string: the reference's int conversion compares an int with a string and never applies) and
``type`` (the solution type)."""

import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra
from skills.data.io import download, write_jsonl
from skills.data.sources import mirror_file

URL = "https://raw.githubusercontent.com/chaochun/nlu-asdiv-dataset/master/dataset/ASDiv.xml"


def prepare(ctx):
    pick_splits("asdiv", ctx.split, "test", ["test"])
    reject_extra("asdiv", ctx.extra)
    with tempfile.TemporaryDirectory() as tmp:
        src = mirror_file(ctx.mirror, "asdiv", "ASDiv.xml") if ctx.mirror else download(URL, Path(tmp) / "ASDiv.xml")
        try:
            root = ET.parse(src).getroot()
        except ET.ParseError as exc:
            raise UsageError(f"{src}: not valid XML ({exc})") from None
        rows = []
        for i, problem in enumerate(root.iter("Problem"), 1):
            try:
                rows.append({
                    "problem": problem.find("Body").text.strip() + " " + problem.find("Question").text.strip(),
                    "expected_answer": problem.find("Answer").text.split("(")[0].strip(),
                    "type": problem.find("Solution-Type").text,
                })
            except AttributeError:
                raise UsageError(f"{src}: <Problem> {i} lacks Body, Question, Answer or Solution-Type text") from None
    dest = out_file(ctx.data_dir, "asdiv", "test")
    write_jsonl(dest, rows)
    return [dest]
