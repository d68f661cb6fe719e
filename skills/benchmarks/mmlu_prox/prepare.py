"""MMLU-ProX preparation: each language's questions with lm-evaluation-harness's per-language prompt
words, one file holding the languages in the order asked (default ``en de es fr it ja``).

The words (question and options headers, the instruction naming the subject, the answer phrase)
come from lm-evaluation-harness's ``lm_eval/tasks/mmlu_prox/lang_libs.py``. The reference downloads
it from the main branch and imports it; we fetch it at a pinned commit (sha256-checked; the file
has not changed since that commit, before the reference's pin) and read its two dicts with
``ast.literal_eval``, never running it. ``<mirror>/mmlu-prox/lang_libs.py`` replaces the download.

Each row, as the reference writes it: ``question`` = instruction, header, question, options header,
``A. ...`` to ``J. ...`` (all ten option slots), ``extract_regex`` = the language's answer phrase
with the letter as a group (for English without the leading "the" and allowing ``**`` around the
letter), ``extract_from_boxed`` false, ``subset_for_metrics`` = the language, ``category`` with
spaces as ``_``. ``--languages=en,de`` (commas or spaces) picks others; ``--split validation`` the
few-shot split.
"""

from __future__ import annotations

import ast
import hashlib
import tempfile
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from skills.benchmarks.mmlu_prox import DEFAULT_LANGUAGES, HF_FILE, HF_REPO, SPLITS
from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits
from skills.data.io import download, write_jsonl
from skills.data.sources import hf_file, mirror_file, read_parquet

BENCH = "mmlu-prox"
LANG_LIBS_COMMIT = "0b45cc71a1f25a330b7ecb677506766ba7c5f5df"
LANG_LIBS_URL = ("https://raw.githubusercontent.com/EleutherAI/lm-evaluation-harness/{commit}/"
                 "lm_eval/tasks/mmlu_prox/lang_libs.py")
LANG_LIBS_SHA256 = "582a892b4e8419c16384552b369d7ba828418c57768ccdd82d61172116b3da55"
LANG_LIBS_FILE = "lang_libs.py"
OPTIONS = 10
COLUMNS = ("question", *(f"option_{i}" for i in range(OPTIONS)), "answer", "category")
# positions in a LANG_LIBS entry
QUESTION_HEADER, OPTIONS_HEADER, INSTRUCTION, ANSWER_PHRASE = 0, 1, 3, 5

LangLibs = Dict[str, List[str]]
LangSubjects = Dict[str, Dict[str, str]]


def read_lang_libs(path: Path) -> Tuple[LangLibs, LangSubjects]:
    """``LANG_LIBS`` and ``LANG_SUBJECTS`` of a ``lang_libs.py``, as literals."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise UsageError(f"mmlu-prox: cannot read {path}: {exc}".splitlines()[0]) from None
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("LANG_LIBS", "LANG_SUBJECTS"):
                try:
                    found[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    raise UsageError(f"mmlu-prox: {path}: {node.targets[0].id} is not a literal") from None
    if set(found) != {"LANG_LIBS", "LANG_SUBJECTS"}:
        raise UsageError(f"mmlu-prox: {path} does not define LANG_LIBS and LANG_SUBJECTS")
    return found["LANG_LIBS"], found["LANG_SUBJECTS"]


def fetch_lang_libs(mirror, tmp: Path) -> Path:
    if mirror:
        return mirror_file(mirror, BENCH, LANG_LIBS_FILE)
    path = download(LANG_LIBS_URL.format(commit=LANG_LIBS_COMMIT), tmp / LANG_LIBS_FILE)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != LANG_LIBS_SHA256:
        raise UsageError(f"mmlu-prox: lang_libs.py at {LANG_LIBS_COMMIT[:12]} has sha256 {digest}, "
                         f"expected {LANG_LIBS_SHA256}")
    return path


def answer_regex(language: str, phrase: str) -> str:
    """The language's answer phrase with the letter as the regex group (the reference's rule)."""
    regex = phrase.replace("({})", r"\(?([ABCDEFGHIJ])\)?")
    if language == "en":
        regex = regex.lstrip("the").strip()  # strips the characters t, h, e, as the reference does
        regex = regex.replace("\\(", "\\**\\(").replace("\\)?", "\\)?\\**")
    return regex


def format_row(row: dict, language: str, libs: LangLibs, subjects: LangSubjects) -> dict:
    words = libs[language]
    category = row["category"].replace(" ", "_")
    try:
        subject = subjects[language][category]
    except KeyError:
        raise UsageError(f"mmlu-prox: lang_libs.py has no {language} name for the category {category!r}") from None
    description = words[INSTRUCTION].format(subject=subject, ans_suffix=words[ANSWER_PHRASE].format("X")) + "\n"
    letters = {chr(ord("A") + i): row[f"option_{i}"] for i in range(OPTIONS)}
    options = "\n".join(f"{letter}. {option}" for letter, option in letters.items())
    return {
        "expected_answer": row["answer"],
        "extract_from_boxed": False,
        "extract_regex": answer_regex(language, words[ANSWER_PHRASE]),
        "subset_for_metrics": language,
        "category": category,
        "question": f"{description}{words[QUESTION_HEADER]}\n{row['question']}\n{words[OPTIONS_HEADER]}\n{options}\n",
        "options": options,
        **letters,
    }


def parse_languages(value: str, libs: LangLibs) -> List[str]:
    languages = value.replace(",", " ").split()
    unknown = [lang for lang in languages if lang not in libs]
    if not languages or unknown:
        raise UsageError(f"mmlu-prox: unknown language(s) {', '.join(unknown) or '(none)'}; "
                         f"lang_libs.py has {', '.join(sorted(libs))}")
    return languages


def format_rows(files: Sequence[Tuple[str, Path]], libs: LangLibs, subjects: LangSubjects) -> List[dict]:
    return [format_row(row, language, libs, subjects)
            for language, path in files for row in read_parquet(path, COLUMNS)]


def prepare(ctx):
    extra = dict(ctx.extra)
    languages_arg = extra.pop("languages", " ".join(DEFAULT_LANGUAGES))
    if extra:
        raise UsageError(f"mmlu-prox: unknown prepare_data option --{next(iter(extra))}")
    splits = pick_splits(BENCH, ctx.split, "test", SPLITS)
    written = []
    with tempfile.TemporaryDirectory(prefix="mmlu-prox-") as tmp:
        libs, subjects = read_lang_libs(fetch_lang_libs(ctx.mirror, Path(tmp)))
        languages = parse_languages(languages_arg, libs)
        for split in splits:
            files = []
            for language in languages:
                name = HF_FILE.format(language=language, split=split)
                src = mirror_file(ctx.mirror, BENCH, name) if ctx.mirror else hf_file(HF_REPO, name, gated=False)
                files.append((language, src))
            dest = out_file(ctx.data_dir, BENCH, split)
            write_jsonl(dest, format_rows(files, libs, subjects))
            written.append(dest)
    return written
