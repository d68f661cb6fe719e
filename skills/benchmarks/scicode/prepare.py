"""``ns prepare_data scicode``: the problems, the given code of three steps, the numeric targets.

- ``dev.jsonl`` (15 problems), ``test.jsonl`` (65) and ``test_aai.jsonl`` (dev then test, 80): the
  upstream rows unchanged (re-serialized as the reference does), from Hugging Face or the mirror's
  ``problems_dev.jsonl`` / ``problems_all.jsonl``.
- ``prefilled/{13.6,62.1,76.3}.txt``: SciCode's files holding the code of the steps that are given,
  not generated. From the mirror, else an installed ``nvidia-scicode`` (this Python or the sandbox
  environment, which has it), else SciCode's repository at a pinned commit; checksums verified.
- ``test_data.h5`` (1.05 GB): the targets every test compares against, from the mirror or
  SciCode's Google Drive file; size and checksum verified. ``--skip_test_data`` leaves it out (the
  problems can still be generated; grading stops with a clear error until the file is there).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

from skills.benchmarks.scicode import (HF_URL, MIRROR_NAMES, PREFILLED_DIR, PREFILLED_SHA256, SCICODE_COMMIT,
                                       SCICODE_REPO, SPLITS, TEST_DATA, TEST_DATA_SHA256, TEST_DATA_SIZE,
                                       TEST_DATA_URL)
from skills.config.errors import UsageError
from skills.data.fields import out_file, pick_splits
from skills.data.io import atomic_open, download, iter_jsonl

BENCH = "scicode"
CHUNK = 1 << 20


def log(msg: str) -> None:
    print(f"scicode: {msg}", file=sys.stderr, flush=True)


def _problems(ctx, split: str, tmp: Path) -> List[str]:
    """The upstream lines of ``dev`` or ``test``, each as ``json.dumps(json.loads(line))``."""
    if ctx.mirror:
        from skills.data.sources import mirror_file

        src = mirror_file(ctx.mirror, BENCH, MIRROR_NAMES[split])
    else:
        src = download(HF_URL.format(split=split), tmp / f"problems_{split}.jsonl")
    lines = []
    for lineno, row in iter_jsonl(src):
        if not isinstance(row, dict) or not {"problem_id", "sub_steps", "required_dependencies"} <= row.keys():
            raise UsageError(f"{src}:{lineno}: not a SciCode problem (problem_id, sub_steps, required_dependencies)")
        lines.append(json.dumps(row))
    return lines


def _write(path: Path, data: bytes) -> Path:
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o644)  # programs in the sandbox run as another user
    return path


# ----------------------------------------------------------------------------- prefilled code
def _installed_data_dirs() -> List[Path]:
    """``scicode/data`` of an installed nvidia-scicode: this Python's, then the sandbox env's."""
    import importlib.util

    found = []
    spec = importlib.util.find_spec("scicode")
    if spec and spec.submodule_search_locations:
        found.append(Path(list(spec.submodule_search_locations)[0]) / "data")
    from skills.config.interpreters import environment_python

    python = environment_python("sandbox")
    if python:
        code = "import importlib.util as u; s = u.find_spec('scicode'); print(list(s.submodule_search_locations)[0])"
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
        if out.returncode == 0 and out.stdout.strip():
            found.append(Path(out.stdout.strip()) / "data")
    return found


def _prefilled_source(ctx, name: str, sha: str, tmp: Path) -> bytes:
    candidates = [ctx.mirror / BENCH / name] if ctx.mirror else []
    candidates += [folder / name for folder in _installed_data_dirs()]
    for path in candidates:
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha:
            return path.read_bytes()
    if ctx.mirror:
        raise UsageError(f"scicode: {name} (SciCode's code of a given step) is neither in the mirror "
                         f"({ctx.mirror / BENCH / name}) nor in an installed nvidia-scicode; add it to the mirror "
                         f"(scicode-bench/SciCode eval/data/{name}) or run scripts/setup.sh")
    url = f"https://raw.githubusercontent.com/{SCICODE_REPO}/{SCICODE_COMMIT}/eval/data/{name}"
    data = download(url, tmp / name).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha:
        raise UsageError(f"scicode: {url} does not have the expected checksum")
    return data


def prepare_prefilled(ctx, folder: Path, tmp: Path) -> List[Path]:
    written = []
    for step, sha in PREFILLED_SHA256.items():
        dest = folder / f"{step}.txt"
        if not (dest.is_file() and hashlib.sha256(dest.read_bytes()).hexdigest() == sha):
            _write(dest, _prefilled_source(ctx, f"{step}.txt", sha, tmp))
        written.append(dest)
    return written


# ----------------------------------------------------------------------------- test_data.h5
def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def check_test_data(path: Path, source: str) -> None:
    size = path.stat().st_size
    if size != TEST_DATA_SIZE:
        raise UsageError(f"scicode: {source} is not SciCode's {TEST_DATA} ({size:,} bytes, expected "
                         f"{TEST_DATA_SIZE:,}); an HTML page means Google Drive refused the download: fetch "
                         f"it by hand and put it in the mirror as scicode/{TEST_DATA}")
    if _digest(path) != TEST_DATA_SHA256:
        raise UsageError(f"scicode: {source} has the right size but not the expected sha256 {TEST_DATA_SHA256}")


def prepare_test_data(ctx, dest: Path) -> Optional[Path]:
    if dest.is_file():
        check_test_data(dest, str(dest))
        return dest
    if ctx.mirror:
        src = ctx.mirror / BENCH / TEST_DATA
        if not src.is_file():
            log(f"{TEST_DATA} is not in the mirror ({src}): problems prepared, but grading needs it at {dest} "
                "(copy it there, or add it to the mirror and prepare again)")
            return None
        check_test_data(src, str(src))
        with open(src, "rb") as fin, atomic_open(dest, "wb") as fout:
            for chunk in iter(lambda: fin.read(CHUNK), b""):
                fout.write(chunk)
    else:
        tmp = dest.with_name(f".{TEST_DATA}.download")
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            download(TEST_DATA_URL, tmp, timeout=600.0)
            check_test_data(tmp, f"the download of {TEST_DATA}")
            os.replace(tmp, dest)
        except UsageError as exc:
            raise UsageError(f"{exc.message} (--skip_test_data prepares the problems alone)") from None
        finally:
            tmp.unlink(missing_ok=True)
    os.chmod(dest, 0o644)
    return dest


def prepare(ctx):
    extra = dict(ctx.extra)
    skip_test_data = str(extra.pop("skip_test_data", "false")).lower() in ("true", "1", "yes")
    if extra:
        raise UsageError(f"scicode: unknown prepare_data option --{next(iter(extra))}")
    splits = set(pick_splits(BENCH, ctx.split or "all", "all", SPLITS))
    folder = Path(ctx.data_dir) / BENCH
    written: List[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        sources = {s: _problems(ctx, s, Path(tmp)) for s in ("dev", "test")
                   if s in splits or "test_aai" in splits}
        for split in SPLITS:
            if split in splits:
                lines = sources["dev"] + sources["test"] if split == "test_aai" else sources[split]
                written.append(_write(out_file(ctx.data_dir, BENCH, split), "".join(l + "\n" for l in lines).encode()))
        written += prepare_prefilled(ctx, folder / PREFILLED_DIR, Path(tmp))
    if not skip_test_data:
        h5 = prepare_test_data(ctx, folder / TEST_DATA)
        if h5 is not None:
            written.append(h5)
    return written
