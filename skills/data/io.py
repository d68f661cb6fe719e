"""Atomic file writes, ``.done`` completion markers, fast JSON, JSONL reading and streamed downloads.

Everything is written to a temporary file in the destination folder, fsync'ed and renamed over the
target, so an interrupted prepare (or grading run) never leaves a half-written split behind: the
target is either the old file or the complete new one. The file gets the permissions a plain
``open`` would give (the process umask), not ``mkstemp``'s private 0600: prepared data, outputs and
metrics on a shared cluster must stay readable by the team.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping, Tuple

from skills.config.errors import UsageError

try:  # orjson is optional; it is several times faster for the large bodies of long generations
    import orjson
except ImportError:  # pragma: no cover
    orjson = None


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON; falls back to the stdlib for what orjson refuses (huge ints)."""
    if orjson is not None:
        try:
            return orjson.dumps(obj)
        except TypeError:
            pass
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def loads(data: Any) -> Any:
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # re-parse with the stdlib: accepts huge ints / NaN, else raises ValueError
    return json.loads(data)


def current_umask() -> int:
    """The process umask (read without changing it for good)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode(path: Path) -> int:
    """The mode a rewritten file keeps (its current one), or a new file gets (0666 minus the umask)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a temp file next to ``path``; on success fsync + rename it to ``path``, else delete it.

    The result has the mode of the file it replaces, or the umask's for a new one (not the 0600 of
    temp files, which would hide results from the rest of a team on a shared cluster)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, file_mode(path))
    binary = "b" in mode
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not exc.filename:  # a failed write() names no file: name the target
            exc.filename = str(path)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make the rename durable (best effort: not every filesystem allows opening a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_lines(path: Path, lines: Iterable[bytes]) -> int:
    """Write byte lines (each ending in newline) to ``path`` atomically; returns the count."""
    count = 0
    with atomic_open(path, "wb") as fh:
        for line in lines:
            fh.write(line)
            count += 1
    return count


def done_path(output: Path) -> Path:
    """The completion marker of an output file: ``<output>.done`` exists only once the output is
    complete (generated, graded, merged); planners skip finished runs by it."""
    return Path(f"{output}.done")


def touch_done(output: Path) -> None:
    """The completion marker, itself written atomically."""
    atomic_write_lines(done_path(output), [])


def write_jsonl(path: Path, rows: Iterable[Mapping]) -> int:
    """Atomically write rows as JSON lines, ASCII-escaped like the reference (no raw U+2028 in lines)."""
    count = 0
    with atomic_open(path) as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
            count += 1
    return count


def parse_json_line(raw: bytes, path: Any, lineno: int) -> Any:
    """One JSON line; anything wrong with it (bytes, syntax, depth, size) is one UsageError line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}:{lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                         f"{exc.start + 1}); convert the file to UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise UsageError(f"{path}:{lineno}: JSON nested too deeply to read") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise UsageError(f"{path}:{lineno}: unreadable JSON value ({str(exc).splitlines()[0][:120]})") from None


def iter_jsonl(path: Path) -> Iterator[Tuple[int, Any]]:
    """(line number, value) for every non-blank line; a bad line is a UsageError naming file and line."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            yield lineno, parse_json_line(raw, path, lineno)


def read_jsonl(path: Path) -> list:
    """Read a JSONL file; a bad line is a UsageError naming the file and line."""
    return [value for _, value in iter_jsonl(path)]


def download(url: str, dest: Path, *, headers: Mapping[str, str] | None = None, timeout: float = 60.0) -> Path:
    """Stream ``url`` to ``dest`` with a tqdm progress bar; atomic, so a failed download leaves nothing.
    On a bare interpreter (``scripts/setup.sh`` builds environments before any virtualenv exists,
    fetching upstream code at a pin) the standard library downloads it, without a bar."""
    try:
        import httpx
        from tqdm import tqdm
    except ImportError:
        return _download_stdlib(url, Path(dest), headers or {}, timeout)

    try:
        with httpx.stream("GET", url, headers=dict(headers or {}), timeout=timeout, follow_redirects=True) as resp:
            if resp.status_code != 200:
                raise UsageError(f"download failed: HTTP {resp.status_code} for {url}")
            total = int(resp.headers.get("content-length") or 0) or None
            with atomic_open(dest, "wb") as fh, tqdm(
                total=total, unit="B", unit_scale=True, desc=Path(dest).name, leave=False
            ) as bar:
                for chunk in resp.iter_bytes():
                    fh.write(chunk)
                    bar.update(len(chunk))
    except httpx.HTTPError as exc:
        raise UsageError(f"download failed for {url}: {exc}") from None
    return Path(dest)


def _download_stdlib(url: str, dest: Path, headers: Mapping[str, str], timeout: float) -> Path:
    import shutil
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=dict(headers)), timeout=timeout) as resp, \
                atomic_open(dest, "wb") as fh:
            shutil.copyfileobj(resp, fh, 1 << 20)
    except urllib.error.HTTPError as exc:
        raise UsageError(f"download failed: HTTP {exc.code} for {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise UsageError(f"download failed for {url}: {getattr(exc, 'reason', exc)}") from None
    return dest
