"""Pinned upstream code (``skills.data.upstream``): the download path (a repository archive at the
commit, served here by a local HTTP server), what is kept, unsafe members, and a broken archive."""

from __future__ import annotations

import functools
import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest

from skills.config.errors import UsageError
from skills.benchmarks.ruler.upstream import RULER
from skills.data.upstream import fetch, intact, main, manifest


def archive(path: Path, members: dict) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_archive_at_the_commit_keeps_only_the_pinned_folders(served, tmp_path, monkeypatch):
    root, url = served
    top = f"RULER-{RULER.commit}"
    archive(root / f"{RULER.commit}.tar.gz", {
        f"{top}/scripts/data/prepare.py": "print('prepare')\n",
        f"{top}/scripts/run.sh": "echo run\n",
        f"{top}/LICENSE": "Apache-2.0\n",
        f"{top}/README.md": "not kept\n",
        f"{top}/docker/Dockerfile": "not kept\n",
        f"{top}/../escape.py": "never written\n",
        "/abs/path.py": "never written\n",
    })
    monkeypatch.setenv(RULER.url_env, url + "/{commit}.tar.gz")
    dest = fetch(RULER, tmp_path / "code", mirror=None)
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == ["LICENSE", "UPSTREAM.json", "scripts/data/prepare.py", "scripts/run.sh"]
    assert (dest / "scripts" / "run.sh").stat().st_mode & 0o100  # executables stay executable
    record = manifest(dest)
    assert record["commit"] == RULER.commit and record["fetched_from"].startswith(url)
    assert intact(dest, RULER, RULER.commit) and not (tmp_path / "escape.py").exists()
    (root / f"{RULER.commit}.tar.gz").unlink()  # present and intact: no second download
    assert fetch(RULER, dest, mirror=None) == dest


def test_broken_or_missing_archive_is_one_line(served, tmp_path, monkeypatch, capsys):
    root, url = served
    monkeypatch.setenv(RULER.url_env, url + "/{commit}.tar.gz")
    (root / f"{RULER.commit}.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(UsageError, match="not a readable .tar.gz"):
        fetch(RULER, tmp_path / "code", mirror=None)
    (root / f"{RULER.commit}.tar.gz").unlink()
    monkeypatch.delenv("SKILLS_DATA_MIRROR", raising=False)  # no mirror: the download is the only way
    capsys.readouterr()
    assert main(["fetch", "ruler", str(tmp_path / "code")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err[0].startswith("fetching NVIDIA/RULER@") and len(err) == 2  # what it does, then one error line
    assert err[1].startswith("error: ") and "HTTP 404" in err[1]
    assert not (tmp_path / "code").exists() and not list(tmp_path.glob(".code.*"))  # nothing half-fetched
    monkeypatch.setenv(RULER.commit_env, "not-a-hash")
    with pytest.raises(UsageError, match="not a git commit hash"):
        fetch(RULER, tmp_path / "code", mirror=None)
