"""MMLU-ProX on fixtures in the upstream schema (per-language parquet files and a stand-in
``lang_libs.py``; the data is not obtainable here): the prompt text, the per-language answer regex,
languages and their order, and the multichoice grader reading each row's own regex."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from skills.benchmarks.mmlu_prox import prepare as prox
from skills.config.errors import UsageError
from skills.evaluation import grade_file
from skills.registry.spec import PrepareContext
from tests.helpers.files import read_jsonl
from tests.helpers.paths import FIXTURES


def upstream(lang: str, n: int) -> list:
    rows = []
    for i in range(n):
        row = {"question_id": i, "question": f"{lang} question {i}?", "answer": "CD"[i % 2], "answer_index": 2 + i % 2,
               "cot_content": "", "category": "computer science" if i % 2 else "law", "src": "ori", "question_id_src": i}
        row.update({f"option_{j}": (f"{lang}-{i}-{j}" if j < 6 + i else "N/A") for j in range(10)})
        rows.append(row)
    return rows


def write_mirror(root: Path, split: str = "test") -> Path:
    folder = root / "mmlu-prox"
    for lang, n in (("en", 2), ("xx", 3)):
        (folder / lang).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(upstream(lang, n)), folder / lang / f"{split}-00000-of-00001.parquet")
    shutil.copy(FIXTURES / "mmlu_prox" / "lang_libs.py", folder / "lang_libs.py")
    return root


def test_rows_as_the_reference_writes_them(tmp_path):
    mirror = write_mirror(tmp_path / "m")
    (dest,) = prox.prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, extra={"languages": "xx,en"}))
    rows = read_jsonl(dest)
    assert [r["subset_for_metrics"] for r in rows] == ["xx", "xx", "xx", "en", "en"]  # the order asked
    assert [r["category"] for r in rows] == ["law", "computer_science", "law", "law", "computer_science"]
    xx = rows[1]
    assert list(xx) == ["expected_answer", "extract_from_boxed", "extract_regex", "subset_for_metrics", "category",
                        "question", "options", *"ABCDEFGHIJ"]
    options = "\n".join(f"{chr(65 + j)}. {'xx-1-' + str(j) if j < 7 else 'N/A'}" for j in range(10))
    assert xx["question"] == ('Kesyon sou enfòmatik. Fini ak "Repons lan se (X)".\nKweshon:\nxx question 1?\n'
                              f"Opsiyon:\n{options}\n")
    assert xx["options"] == options and xx["J"] == "N/A" and xx["expected_answer"] == "D"
    assert xx["extract_from_boxed"] is False and xx["extract_regex"] == r"Repons lan se \(?([ABCDEFGHIJ])\)?"
    # English: the leading "the" goes and bold markers around the letter are allowed
    assert rows[3]["extract_regex"] == r"answer is \**\(?([ABCDEFGHIJ])\)?\**"
    assert rows[3]["question"].startswith('Multiple choice about law; end with "the answer is (X)", X being the letter.\nQ:\n')


def test_default_languages_and_their_files(tmp_path):
    mirror = write_mirror(tmp_path / "m")
    with pytest.raises(UsageError, match=r"unknown language\(s\) de, es, fr, it, ja"):
        prox.prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror))
    with pytest.raises(UsageError, match="missing mirror file .*en/validation-00000-of-00001.parquet"):
        prox.prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, split="validation", extra={"languages": "en"}))
    with pytest.raises(UsageError, match="unknown prepare_data option --langs"):
        prox.prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, extra={"langs": "en"}))
    assert prox.DEFAULT_LANGUAGES == ("en", "de", "es", "fr", "it", "ja")


def test_lang_libs_is_read_never_run(tmp_path):
    evil = tmp_path / "lang_libs.py"
    evil.write_text("import os\nos.system('touch pwned')\nLANG_LIBS = {}\nLANG_SUBJECTS = {}\n")
    libs, subjects = prox.read_lang_libs(evil)
    assert libs == {} and subjects == {} and not (tmp_path / "pwned").exists()
    evil.write_text("LANG_LIBS = make()\nLANG_SUBJECTS = {}\n")
    with pytest.raises(UsageError, match="LANG_LIBS is not a literal"):
        prox.read_lang_libs(evil)
    evil.write_text("LANG_LIBS = {}\n")
    with pytest.raises(UsageError, match="does not define LANG_LIBS and LANG_SUBJECTS"):
        prox.read_lang_libs(evil)


def test_download_is_checked_against_the_pin(tmp_path, monkeypatch):
    seen = []

    def fake_download(url, dest, **kw):
        seen.append(url)
        Path(dest).write_text("LANG_LIBS = {}\nLANG_SUBJECTS = {}\n")
        return Path(dest)

    monkeypatch.setattr(prox, "download", fake_download)
    with pytest.raises(UsageError, match="lang_libs.py at 0b45cc71a1f2 has sha256"):
        prox.fetch_lang_libs(None, tmp_path)
    assert seen == [f"https://raw.githubusercontent.com/EleutherAI/lm-evaluation-harness/{prox.LANG_LIBS_COMMIT}/"
                    "lm_eval/tasks/mmlu_prox/lang_libs.py"]


def test_grader_reads_each_rows_regex(tmp_path):
    mirror = write_mirror(tmp_path / "m")
    (dest,) = prox.prepare(PrepareContext(data_dir=tmp_path / "d", mirror=mirror, extra={"languages": "en xx"}))
    rows = read_jsonl(dest)
    generations = ["... so the answer is (C)", "Thus, the answer is **(D)**.", "Repons lan se (B)", "Repons lan se D",
                   "I am not sure."]
    out = tmp_path / "out.jsonl"
    out.write_text("".join(json.dumps({**r, "generation": g}) + "\n" for r, g in zip(rows, generations)))
    grade_file(out, "multichoice")
    graded = read_jsonl(out)
    assert [r["predicted_answer"] for r in graded] == ["C", "D", "B", "D", None]
    assert [r["symbolic_correct"] for r in graded] == [True, True, False, True, False]
