"""``download`` with and without httpx: the environment builder runs on a bare interpreter."""

import functools
import http.server
import sys
import threading

import pytest

from skills.config.errors import UsageError
from skills.data.io import download


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "archive.tar.gz").write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4000)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


@pytest.mark.parametrize("bare", [False, True], ids=["httpx", "standard-library"])
def test_download_writes_the_file_or_nothing(served, tmp_path, monkeypatch, bare):
    if bare:
        monkeypatch.setitem(sys.modules, "httpx", None)  # import httpx raises ImportError
    base, root = served
    dest = tmp_path / "out" / "a.tar.gz"
    dest.parent.mkdir()
    assert download(f"{base}/archive.tar.gz", dest) == dest
    assert dest.read_bytes() == (root / "archive.tar.gz").read_bytes()
    missing = tmp_path / "out" / "b.tar.gz"
    with pytest.raises(UsageError, match="HTTP 404"):
        download(f"{base}/nothing.tar.gz", missing)
    assert not missing.exists() and sorted(p.name for p in dest.parent.iterdir()) == ["a.tar.gz"]
