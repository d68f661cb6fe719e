"""Upstream code at a pinned commit (checkers, simulated APIs, data generators), fetched as data.

Some benchmarks are defined by code we must not re-write (a checker, simulated APIs, data
generators). The reference runs them at a known commit, so do we: each source is an ``Upstream``
declared by its benchmark family (a repository, a pinned commit overridable through an environment
variable like the prompt set's, and the folders to keep). ``fetch`` puts them in ``<dest>/``:

- from a mirror (``--mirror`` / ``$SKILLS_DATA_MIRROR``): ``<mirror>/<mirror_name>/`` laid out as
  the repository (only the kept folders needed), its ``SOURCE.md`` or ``COMMIT`` naming the commit;
- otherwise from GitHub's archive of the commit (``$<URL_ENV>`` can point at an internal mirror).

The folder is assembled next to ``dest`` and renamed into place with ``UPSTREAM.json`` (repository,
commit, origin, sha256 of every file) written last, so a killed fetch never leaves a half tree and a
present, intact one is not fetched again. ``python -m skills.data.upstream fetch NAME DEST`` fetches a
declared source by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.data.io import current_umask, download
from skills.registry import Registry

MANIFEST = "UPSTREAM.json"
ARCHIVE_URL = "https://github.com/{repo}/archive/{commit}.tar.gz"


@dataclass(frozen=True)
class Upstream:
    name: str  # what setup and messages call it
    repo: str  # owner/name on GitHub
    commit: str  # the pin: the commit the reference uses
    commit_env: str  # environment variable that picks another commit
    url_env: str  # environment variable with an archive URL template ({repo}, {commit})
    mirror_name: str  # <mirror>/<mirror_name>/ holds the repository's files
    keep: Tuple[str, ...]  # repository paths kept (folders end with "/")

    def pinned(self, commit: Optional[str] = None) -> str:
        value = (commit or os.environ.get(self.commit_env) or self.commit).strip()
        if not re.fullmatch(r"[0-9a-f]{7,40}", value):
            raise UsageError(f"{self.name}: commit '{value}' is not a git commit hash (7-40 hex digits)")
        return value

    def wanted(self, rel: str) -> bool:
        return any(rel == k or (k.endswith("/") and rel.startswith(k)) for k in self.keep)


# Benchmark families declare their sources: EXTENSIONS["upstream"] = {name: "module:Upstream object"}.
SOURCES: Registry[Upstream] = Registry("upstream", "upstream source")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> Dict[str, str]:
    return {str(p.relative_to(root)): _sha256(p) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != MANIFEST and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def manifest(root: Path) -> Optional[dict]:
    try:
        return json.loads((Path(root) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def intact(root: Path, src: Upstream, commit: str) -> bool:
    """``root`` holds ``src`` at ``commit``, every file as fetched."""
    found = manifest(root)
    return bool(found) and found.get("repo") == src.repo and str(found.get("commit", "")).startswith(commit) \
        and found.get("files") == _files(root)


def mirror_commit(folder: Path) -> Optional[str]:
    """The commit a mirror folder says it holds (a ``COMMIT`` file, or the first hash in ``SOURCE.md``)."""
    for name in ("COMMIT", "SOURCE.md"):
        path = folder / name
        if path.is_file():
            found = re.search(r"\b[0-9a-f]{40}\b", path.read_text(encoding="utf-8", errors="replace"))
            if found:
                return found.group(0)
    return None


def _from_mirror(src: Upstream, folder: Path, commit: str, tmp: Path) -> str:
    held = mirror_commit(folder)
    if held is None:
        raise UsageError(f"{src.name}: the mirror {folder} does not say which commit it holds (no COMMIT or SOURCE.md)")
    if not held.startswith(commit) and not commit.startswith(held):
        raise UsageError(f"{src.name}: the mirror {folder} holds commit {held[:12]}, not the pinned {commit[:12]} "
                         f"(set {src.commit_env}={held} to use it, or update the mirror)")
    count = 0
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and src.wanted(rel) and "__pycache__" not in path.parts:
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)  # plain copies: this process's umask, not the mirror's read-only modes
            count += 1
    if not count:
        raise UsageError(f"{src.name}: the mirror {folder} has none of {', '.join(src.keep)}")
    return f"mirror:{folder}"


def _from_archive(src: Upstream, commit: str, tmp: Path) -> str:
    url = (os.environ.get(src.url_env) or ARCHIVE_URL).format(repo=src.repo, commit=commit)
    archive = tmp / ".archive.tar.gz"
    print(f"fetching {src.repo}@{commit[:12]} from {url}", file=sys.stderr)
    download(url, archive, timeout=300.0)
    count = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/", 1)
                if not member.isfile() or len(parts) < 2 or member.name.startswith("/") \
                        or ".." in member.name.split("/") or not src.wanted(parts[1]):
                    continue
                dest = tmp / parts[1]
                dest.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as fin, open(dest, "wb") as out:  # type: ignore[union-attr]
                    shutil.copyfileobj(fin, out)
                if member.mode & 0o100:
                    os.chmod(dest, 0o777 & ~current_umask())
                count += 1
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UsageError(f"{src.name}: the archive from {url} is not a readable .tar.gz ({exc})") from None
    finally:
        archive.unlink(missing_ok=True)
    if not count:
        raise UsageError(f"{src.name}: the archive from {url} has none of {', '.join(src.keep)}")
    return url


def fetch(src: Upstream, dest: Path, mirror: Optional[Path] = None, commit: Optional[str] = None,
          refresh: bool = False) -> Path:
    """Make ``dest`` hold ``src`` at the pinned commit (or ``commit``); returns ``dest``.

    ``mirror`` is a data mirror root: ``<mirror>/<src.mirror_name>/`` is used when it exists (no
    network); otherwise GitHub's archive of the commit is downloaded."""
    commit = src.pinned(commit)
    dest = Path(dest)
    if not refresh and intact(dest, src, commit):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        folder = mirror / src.mirror_name if mirror is not None else None
        if folder is not None and folder.is_dir():
            origin = _from_mirror(src, folder, commit, tmp)
        else:
            origin = _from_archive(src, commit, tmp)
        held = mirror_commit(folder) if folder is not None and folder.is_dir() else None
        record = {"name": src.name, "repo": src.repo, "commit": held if held and held.startswith(commit) else commit,
                  "fetched_from": origin, "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "files": _files(tmp)}
        (tmp / MANIFEST).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m skills.data.upstream", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="fetch NAME's pinned upstream code into DEST")
    f.add_argument("name", help=f"a declared source ({', '.join(SOURCES.names())})")
    f.add_argument("dest")
    f.add_argument("--mirror", default=None, help="data mirror root (default: $SKILLS_DATA_MIRROR; none: download)")
    f.add_argument("--commit", default=None, help="another commit than the pin")
    c = sub.add_parser("commit", help="print the commit NAME would be fetched at")
    c.add_argument("name")
    args = p.parse_args(argv)
    try:
        src = SOURCES.get(args.name)
        if args.cmd == "commit":
            print(src.pinned())
            return 0
        from skills.data.sources import resolve_mirror

        dest = fetch(src, Path(args.dest), resolve_mirror(args.mirror), args.commit)
        print(f"{src.repo}@{manifest(dest)['commit'][:12]} -> {dest}")
    except UsageError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
