"""Confinement for a long-lived helper process that runs untrusted strings (e.g. BFCL's simulated
tool environments, which ``eval()`` model-chosen function names): the same exec chain as one
sandbox execution (namespaces, read-only filesystem, hidden ``$HOME``, no network), without the
per-execution wall/CPU budget, in a work dir the caller keeps for the process's life.

The process runs as the caller's user inside the namespaces (no throwaway uid: it lives longer
than any one execution); ``read_only`` re-exposes host folders it must import code from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence

from skills.sandbox.launcher import build_argv, build_env
from skills.sandbox.probe import detect
from skills.sandbox.types import Limits

# hours, not seconds: the process serves a whole job; the executor above it bounds each request
LONG_LIVED = Limits(cpu_s=7 * 24 * 3600, wall_s=7 * 24 * 3600, memory_mb=8192, max_processes=256,
                    max_file_mb=1024, max_open_files=1024)


@dataclass(frozen=True)
class Confined:
    argv: List[str]
    env: dict
    cwd: str  # host folder to start it in
    isolation: str  # bwrap | unshare | none


def confine(argv: Sequence[str], workdir: str, python: Optional[str] = None, read_only: Sequence[str] = (),
            env: Optional[Mapping[str, str]] = None, limits: Limits = LONG_LIVED) -> Confined:
    """``argv`` (its first item the interpreter unless ``python`` says otherwise) ready for Popen."""
    iso = detect(python or argv[0])
    full = build_argv(iso, limits, workdir, list(argv), None, tuple(read_only))
    return Confined(full, build_env(iso, workdir, env), workdir, iso.mode)


__all__ = ["LONG_LIVED", "Confined", "confine"]
