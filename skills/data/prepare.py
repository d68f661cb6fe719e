"""``ns prepare_data``: run each benchmark's ``prepare(ctx)`` into ``<data_dir>/<bench>/<split>.jsonl``."""

from __future__ import annotations

import contextlib

from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from skills.registry.benchmarks import builtin_names, get_benchmark, prepare_function
from skills.registry.spec import PrepareContext
from skills.config.errors import UsageError
from skills.data import default_data_dir
from skills.data.sources import resolve_mirror


def parse_extra_args(args: Sequence[str]) -> Tuple[Optional[str], Dict[str, str]]:
    """Split pass-through flags (``--split X``, ``--split=X``, ``--flag``) into (split, extras)."""
    extra: Dict[str, str] = {}
    items = list(args)
    i = 0
    while i < len(items):
        arg = items[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise UsageError(f"unexpected argument {arg!r} for prepare_data (expected --name value)")
        key, eq, value = arg[2:].partition("=")
        key = key.replace("-", "_")
        if not eq:
            if i + 1 < len(items) and not items[i + 1].startswith("--"):
                value = items[i + 1]
                i += 1
            else:
                value = "true"
        extra[key] = value
        i += 1
    return extra.pop("split", None), extra


def split_names(names: Iterable[str]) -> List[str]:
    """Accept ``a b`` as well as ``a,b``; keep order, drop duplicates."""
    out: List[str] = []
    for item in names:
        for name in str(item).split(","):
            name = name.strip()
            if name and name not in out:
                out.append(name)
    return out


def check_names(names: Sequence[str]) -> None:
    """Every name must be a built-in benchmark (typos fail before anything is fetched)."""
    known = builtin_names()
    for name in names:
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
            raise UsageError(f"unknown benchmark {name!r}{hint}")


def large_data(names: Iterable[str]) -> List[str]:
    """The built-in benchmarks among ``names`` whose data is large (``BenchmarkSpec.large_data``)."""
    known = set(builtin_names())
    return [n for n in split_names(names) if n in known and get_benchmark(n).large_data]


def prepare_benchmarks(
    names: Iterable[str],
    data_dir: Optional[Path] = None,
    mirror: Optional[Path] = None,
    extra_args: Sequence[str] = (),
    on_prepared: Optional[Callable[[str, List[Path]], None]] = None,
) -> Dict[str, List[Path]]:
    """Prepare the named benchmarks; returns the files written per benchmark.

    Every name is checked before anything is fetched, so a typo fails fast with exit code 2. One
    benchmark failing does not stop the others: each prepared one is reported (``on_prepared``),
    then the failures are raised together (a lone failure as itself)."""
    selected = split_names(names)
    if not selected:
        raise UsageError("no benchmark given to prepare_data")
    check_names(selected)
    functions = {n: prepare_function(n) for n in selected}
    for name, fn in functions.items():
        if not callable(fn):
            raise UsageError(f"benchmark {name!r} has no data to prepare")
    split, extra = parse_extra_args(extra_args)
    root = Path(data_dir) if data_dir else default_data_dir()
    mirror_path = resolve_mirror(mirror)
    written: Dict[str, List[Path]] = {}
    failed: Dict[str, BaseException] = {}
    for name, fn in functions.items():
        ctx = PrepareContext(data_dir=root, mirror=mirror_path, split=split, extra=dict(extra))
        folder = root / name
        existed = folder.exists()
        try:
            files = list(fn(ctx) or [])
            _check_not_empty(name, files, mirror_path)
        except Exception as exc:  # noqa: BLE001 - reported below with the other benchmarks' outcomes
            if not existed:  # a failed benchmark leaves no empty folder that looks prepared
                with contextlib.suppress(OSError):
                    folder.rmdir()
            if len(functions) == 1:
                raise
            failed[name] = exc
            continue
        written[name] = files
        if on_prepared is not None:
            on_prepared(name, files)
    if failed:
        def why(exc: BaseException) -> str:
            text = exc.message if isinstance(exc, UsageError) else f"{type(exc).__name__}: {exc}"
            return (text.splitlines() or [""])[0]

        done = f"; prepared: {', '.join(written)}" if written else ""
        raise UsageError(f"{len(failed)} of {len(functions)} benchmarks failed: "
                         + "; ".join(why(exc) if why(exc).startswith(f"{name}:") else f"{name}: {why(exc)}"
                                     for name, exc in failed.items()) + done)
    return written


def _check_not_empty(name: str, files: List[Path], mirror: Optional[Path]) -> None:
    """An empty source (truncated mirror file, emptied download) must not become an empty benchmark
    that `ns eval` would then "evaluate" in seconds. Single category files may be empty."""
    def rows(path: Path) -> int:
        with open(path, "rb") as fh:
            return sum(1 for line in fh if line.strip())

    if files and not any(rows(p) for p in files):
        where = f" (mirror {mirror})" if mirror else ""
        for path in files:
            path.unlink(missing_ok=True)
        raise UsageError(f"{name}: the source has no entries{where}; nothing written")
