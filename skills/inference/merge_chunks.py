"""Merge the chunk files of a chunked generation: ``python -m skills.inference.merge_chunks OUT CHUNK...``.

Any chunk job may call it when it finishes; it does nothing until every chunk file and its
``.done`` exist, so the last chunk to finish performs the merge. It is idempotent and safe to rerun
after a crash at any point: the merged file is written atomically, an optional ``before_done``
step (grading) runs on it, the merged ``.done`` is written, and only then are chunk files deleted
(their ``.done`` markers stay, so a rerun of a chunk job finds nothing to do).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from skills.config.errors import UsageError
from skills.data.io import atomic_write_lines, done_path, touch_done
from skills.data.recorded import common_settings, settings_path, write_settings


def chunk_path(output: Path, chunk_id: int) -> Path:
    """``out.jsonl`` -> ``out_chunk_K.jsonl`` (the reference's naming)."""
    return output.with_name(f"{output.stem}_chunk_{chunk_id}{output.suffix}")


def chunk_bounds(total: int, num_chunks: int, chunk_id: int) -> range:
    """Contiguous chunk K of N; the first ``total % N`` chunks get one extra item."""
    base, extra = divmod(total, num_chunks)
    start = chunk_id * base + min(chunk_id, extra)
    return range(start, start + base + (1 if chunk_id < extra else 0))


def _lines(paths: Sequence[Path]):
    for path in paths:
        with open(path, "rb") as fh:
            for line in fh:
                yield line if line.endswith(b"\n") else line + b"\n"


def merge(output: Path, chunks: Sequence[Path], before_done: Optional[Callable[[Path], None]] = None,
          mark_done: bool = True) -> bool:
    """Merge if complete; returns True when ``output`` is final (merged and marked done).

    ``mark_done=False`` (grading is a later step, which writes the marker) only writes the merged
    file and keeps the chunks, so that merging again after a crash gives the same file.
    """
    output = Path(output)
    chunks = [Path(c) for c in chunks]
    if done_path(output).exists():
        for chunk in chunks:  # a crash may have interrupted the clean-up below
            chunk.unlink(missing_ok=True)
            settings_path(chunk).unlink(missing_ok=True)
        return True
    if not all(c.exists() and done_path(c).exists() for c in chunks):
        return False
    atomic_write_lines(output, _lines(chunks))
    recorded = common_settings(chunks)  # the chunks of one seed share their settings (skills.data.recorded)
    if recorded is not None:
        write_settings(output, recorded)
    else:
        settings_path(output).unlink(missing_ok=True)
    if not mark_done:
        return True
    if before_done is not None:
        before_done(output)
    touch_done(output)
    for chunk in chunks:  # the merged file is durable now; chunk .done markers stay
        chunk.unlink(missing_ok=True)
        settings_path(chunk).unlink(missing_ok=True)
    return True


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skills.inference.merge_chunks", description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("chunks", nargs="+")
    parser.add_argument("--eval_type", default=None, help="grade the merged file before marking it done")
    args = parser.parse_args(argv)
    def grade_merged(path: Path) -> None:
        from skills.evaluation import grade_file
        from skills.inference.settings import log

        log(f"grading {path} (eval_type={args.eval_type})")
        grade_file(path, args.eval_type, {})

    grade = grade_merged if args.eval_type else None
    try:
        merged = merge(Path(args.output), [Path(c) for c in args.chunks], grade)
    except UsageError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(f"merged {len(args.chunks)} chunks into {args.output}" if merged else
          "not all chunks are done yet; nothing merged", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
