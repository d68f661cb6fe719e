"""Helpers for the sandbox tests: unique markers, the process table, sandboxes per isolation mode."""

from __future__ import annotations

import glob
import os
import subprocess
import tempfile
import time
import uuid
from typing import List, Optional

import pytest

from skills.config.errors import UsageError
from skills.sandbox import Sandbox

MODES = ("bwrap", "unshare", "none")


def sandbox_health_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/health"


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
    roots = {os.path.expanduser("~"), tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"}
    return [p for root in roots for p in glob.glob(os.path.join(root, f"*{marker}*"))]


def sandbox_dirs(ready: bool = False) -> set:
    """This process's sandbox work dirs (other processes on a shared machine make their own) that
    hold a file: an execution's. Launches started ahead wait in empty ones (``ready=True`` lists
    those too)."""
    found = set(glob.glob(os.path.join(tempfile.gettempdir(), f"skills-sandbox-{os.getpid()}-*")))
    return found if ready else {d for d in found if _holds_a_file(d)}


def _holds_a_file(folder: str) -> bool:
    for _root, _dirs, names in os.walk(folder):  # a ready launch may hold empty mount points (bwrap)
        if names:
            return True
    return False


def sandbox_for(mode: str, workers: int = 2, python: Optional[str] = None) -> Sandbox:
    """A sandbox forced to ``mode``; skips when that isolation does not work on this machine, or
    (as root) when it refuses to run ``python`` without root: then the refusal must be the one
    line that says what to do."""
    sandbox = Sandbox(isolation=mode, workers=workers, python=python)
    try:
        sandbox.isolation()
    except UsageError as exc:
        if "never runs as root" in exc.message:
            assert "\n" not in exc.message and "SKILLS_SANDBOX_ALLOW_ROOT=1" in exc.message, exc.message
            pytest.skip(f"refused (never root): isolation '{mode}' cannot run {sandbox.python} as a throwaway uid here")
        pytest.skip(f"isolation '{mode}' unavailable here: {exc.message}")
    return sandbox


def nproc_enforced(sandbox: Sandbox) -> bool:
    """RLIMIT_NPROC never applies to root's own uid: it needs a throwaway uid or a non-root user."""
    return os.geteuid() != 0 or sandbox.isolation().drop_uid


def world_readable_folder(prefix: str, outside_tmp: bool = False) -> str:
    """A fresh folder other users can enter (pytest's own are 0700), for interpreters and mirrors
    that a throwaway uid must reach; the caller removes it. ``outside_tmp``: in /var/tmp where
    there is one (bubblewrap's work dir covers /tmp: interpreters there need a launch of their own
    rather than a warm launcher)."""
    parent = "/var/tmp" if outside_tmp and os.path.isdir("/var/tmp") and os.access("/var/tmp", os.W_OK) else None
    folder = tempfile.mkdtemp(prefix=prefix, dir=parent)
    os.chmod(folder, 0o755)
    return folder


def plain_venv(folder: str, python: str) -> str:
    """A venv without pip made by ``python`` in ``folder``; returns its interpreter."""
    subprocess.run([python, "-m", "venv", "--without-pip", os.path.join(folder, "venv")], check=True,
                   capture_output=True)
    return os.path.join(folder, "venv", "bin", "python")
