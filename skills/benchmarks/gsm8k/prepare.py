"""GSM8K data: openai/grade-school-math's ``{test,train}.jsonl`` as the reference writes them; both
splits by default (``--split test|train`` writes one).

Each row: ``problem`` (the question), ``expected_answer`` (the number after ``####``, commas dropped,
an int when whole) and ``reference_solution`` (the text before ``####`` without the ``<<calc>>``
annotations). The reference also replaces the answers of eleven training questions it found wrong;
``FIXES`` holds those answers keyed by the sha256 of the question text.
"""

import hashlib
import re
import tempfile
from pathlib import Path

from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits, reject_extra, whole
from skills.data.io import download, iter_jsonl, write_jsonl
from skills.data.sources import mirror_file

URL = "https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data/{}.jsonl"
CALC = re.compile(r"<<.*?>>")

FIXES = {
    "4062372e21d990434f09a943253a40a3f2bb61531f2ed467472bdb1bd75e9f7b": 10750,
    "445d153492ea042026b8627cc1d91d2562db3147e09fb62aab01e08a4c250913": 10,
    "e9a757e9375878bed295d962a783cdf6d0edd3fe177346ff0cbdee38d1d6a2e0": 2740,
    "b7632ee41494461c5f941960b9fbc31bb775277caa1f8f17240f7e8d76b07dc6": 15,
    "549d4ecc6508ca0101d0510b9247a6481f97613933e9002a5d0cf0829055227d": 19200,
    "8c3672013cff1d105fa270f7a5c48159adeaf2a155a5b54710764b52c80a2f38": 64,
    "ac6cadd41416c9416aeb42be4ece9ba778715bdc7503f6fddd6d31b16c1c3077": 108,
    "18d0c8784a9a73c9879e58785f82742ab468fc48eacc1aaf078d9e43de208a61": 531000,
    "d7f6e3a7def173ea88376d0c1ca7a0cf0d862babc8d701a776484a5ae9a62ee5": 6,
    "c7ca4f35d37d1139bcb8034fe779503b0a40bd810d9c127eef4ce1a06e61cc4a": 13,
    "6e7a1645b42e32b9053d424950013c8e5d630b471e215837ef93cce39c0d568c": "07:30",
}


def gsm8k_row(raw: dict, where: str) -> dict:
    try:
        solution, answer = raw["answer"].split("####")
        expected = whole(float(answer.replace(",", "")))
        question = raw["question"]
    except (KeyError, TypeError, AttributeError, ValueError):
        raise UsageError(f"{where}: expected 'question' and an 'answer' with one '#### <number>'") from None
    fixed = FIXES.get(hashlib.sha256(question.encode()).hexdigest())
    return {
        "problem": question,
        "expected_answer": expected if fixed is None else fixed,
        "reference_solution": CALC.sub("", solution),
    }


def prepare(ctx):
    reject_extra("gsm8k", ctx.extra)
    written = []
    for split in pick_splits("gsm8k", ctx.split, "all", ["test", "train"]):
        with tempfile.TemporaryDirectory() as tmp:
            src = (mirror_file(ctx.mirror, "gsm8k", f"{split}.jsonl") if ctx.mirror
                   else download(URL.format(split), Path(tmp) / f"{split}.jsonl"))
            rows = [gsm8k_row(raw, f"{src}:{lineno}") for lineno, raw in iter_jsonl(src)]
        dest = out_file(ctx.data_dir, "gsm8k", split)
        write_jsonl(dest, rows)
        written.append(dest)
    return written
