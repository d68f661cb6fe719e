"""Fetch the reference prompt set at a pinned commit: from a local mirror, or the GitHub archive.

The set is assembled in a hidden temporary folder next to its final place, the manifest (commit,
source, sha256 of every file) is written last, and the folder is renamed into place, so a killed
fetch never leaves a half set that a job could pick up. A present set whose files still match
its manifest is not fetched again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

from skills.config.errors import UsageError
from skills.data.io import current_umask
from skills.prompt_sets import (FOLDERS, MANIFEST, MIRROR_NAME, REPO, PromptSet, open_set, pinned_commit,
                                set_dir)

URL_ENV = "SKILLS_PROMPTS_URL"  # archive URL template ({commit}), e.g. an internal mirror of GitHub
ARCHIVE_URL = "https://github.com/{repo}/archive/{commit}.tar.gz"
PREFIX = "nemo_skills/prompt/"  # where the set lives inside the upstream repository
EXTRA_FILES = ("LICENSE",)  # kept next to the texts (Apache-2.0 asks for it)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> Dict[str, str]:
    return {str(p.relative_to(root)): _sha256(p) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != MANIFEST and "__pycache__" not in p.parts}


def verify(root: Path) -> bool:
    """Do the files still match the manifest?"""
    try:
        recorded = json.loads((root / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError):
        return False
    return recorded == _files(root)


def mirror_commit(folder: Path) -> Optional[str]:
    """The commit a mirror folder says it holds (a ``COMMIT`` file, or the hash in ``SOURCE.md``)."""
    for name in ("COMMIT", "SOURCE.md"):
        path = folder / name
        if path.is_file():
            found = re.search(r"\b[0-9a-f]{40}\b", path.read_text(encoding="utf-8", errors="replace"))
            if found:
                return found.group(0)
    return None


def _from_mirror(src: Path, commit: str, tmp: Path) -> str:
    held = mirror_commit(src)
    if held is not None and not held.startswith(commit) and not commit.startswith(held):
        raise UsageError(f"the prompt mirror {src} holds commit {held}, not the requested {commit} "
                         f"(set SKILLS_PROMPTS_COMMIT={held} or update the mirror)")
    missing = [f for f in FOLDERS[:2] if not (src / f).is_dir()]
    if missing:
        raise UsageError(f"prompt mirror {src} lacks {', '.join(missing)}/ (expected upstream's nemo_skills/prompt/ layout)")
    for folder in FOLDERS:  # plain copies: new files and folders get this process's umask, not the mirror's modes
        for path in sorted((src / folder).rglob("*")) if (src / folder).is_dir() else []:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                dest = tmp / path.relative_to(src)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
    for name in EXTRA_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, tmp / name)
    return f"mirror:{src}"


def _safe_member(name: str) -> Optional[str]:
    """Path below ``nemo_skills/prompt/`` of an archive member, or None (other files, unsafe names)."""
    parts = name.split("/", 1)
    if len(parts) < 2 or name.startswith("/") or ".." in name.split("/"):
        return None
    rel = parts[1]
    if rel in EXTRA_FILES:
        return rel
    if not rel.startswith(PREFIX):
        return None
    rel = rel[len(PREFIX):]
    return rel if rel.split("/", 1)[0] in FOLDERS and "__pycache__" not in rel else None


def _from_archive(commit: str, tmp: Path) -> str:
    from skills.data.io import download

    url = (os.environ.get(URL_ENV) or ARCHIVE_URL).format(repo=REPO, commit=commit)
    archive = tmp / "archive.tar.gz"
    print(f"fetching the reference prompt set {REPO}@{commit[:12]} from {url}", file=sys.stderr)
    download(url, archive, timeout=120.0)
    count = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                rel = _safe_member(member.name) if member.isfile() else None
                if rel is None:
                    continue
                dest = tmp / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(dest, "wb") as out:  # type: ignore[union-attr]
                    shutil.copyfileobj(src, out)
                count += 1
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UsageError(f"the prompt archive from {url} is not a readable .tar.gz ({exc})") from None
    finally:
        archive.unlink(missing_ok=True)
    if not count or not (tmp / "config").is_dir():
        raise UsageError(f"the archive from {url} has no {PREFIX}config/ folder")
    return url


def fetch_prompt_set(data_dir: Path, commit: Optional[str] = None, mirror: Optional[Path] = None,
                     refresh: bool = False) -> PromptSet:
    """Make ``<data_dir>/.prompt-sets/nemo-skills/<commit>`` present and complete; returns it.

    ``mirror`` is a data mirror root: its ``nemo-skills-prompts/`` folder is used when present
    (no network); otherwise the repository archive at the commit is downloaded.
    """
    commit = pinned_commit(commit)
    target = set_dir(data_dir, commit)
    existing = open_set(target)
    if existing is not None and not refresh and verify(target):
        return existing
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{commit[:12]}.", suffix=".tmp", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it 0700; shared clusters need the umask
        src = mirror / MIRROR_NAME if mirror is not None else None
        origin = _from_mirror(src, commit, tmp) if src is not None and src.is_dir() else _from_archive(commit, tmp)
        manifest = {"source": "nemo-skills", "repo": REPO, "commit": commit, "fetched_from": origin,
                    "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": _files(tmp)}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    fetched = open_set(target)
    assert fetched is not None
    return fetched
