"""Helpers for the sandbox tests: unique markers, the process table, sandboxes per isolation mode."""

from __future__ import annotations

import glob
import os
import tempfile
import time
import uuid
from typing import List

import pytest

from skills.config.errors import UsageError
from skills.sandbox import Sandbox

MODES = ("bwrap", "unshare", "none")


def new_marker() -> str:
    return f"sbxmark{uuid.uuid4().hex[:12]}"


def marker_processes(marker: str) -> List[int]:
    """Live processes whose command line contains ``marker``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{name}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state not in (b"Z", b"X"):
            found.append(int(name))
    return found


def assert_no_marker_processes(marker: str, settle_s: float = 0.0) -> None:
    deadline = time.monotonic() + settle_s
    while True:
        left = marker_processes(marker)
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    assert not left, f"processes left running: {left}"


def paths_with(marker: str) -> List[str]:
    """Files named after ``marker`` in the real $HOME and temp folders (never the sandbox's)."""
    roots = {os.path.expanduser("~"), tempfile.gettempdir(), "/tmp"}
    return [p for root in roots for p in glob.glob(os.path.join(root, f"*{marker}*"))]


def sandbox_dirs() -> set:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "skills-sandbox-*")))


def sandbox_for(mode: str, workers: int = 2) -> Sandbox:
    """A sandbox forced to ``mode``; skips when that isolation does not work on this machine."""
    sandbox = Sandbox(isolation=mode, workers=workers)
    try:
        sandbox.isolation()
    except UsageError as exc:
        pytest.skip(f"isolation '{mode}' unavailable here: {exc.message}")
    return sandbox


def nproc_enforced(sandbox: Sandbox) -> bool:
    """RLIMIT_NPROC never applies to root's own uid: it needs a throwaway uid or a non-root user."""
    return os.geteuid() != 0 or sandbox.isolation().drop_uid
