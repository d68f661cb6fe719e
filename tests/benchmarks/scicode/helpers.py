"""Helpers for the SciCode tests: the fixture problems, the sandbox interpreter and a targets file.

The orchestrator's environment has no h5py; the targets fixture is written (and upstream's reader
run) with the sandbox environment's interpreter, which has numpy, scipy, h5py and nvidia-scicode.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import List

from tests.helpers.files import read_jsonl
from tests.helpers.paths import FIXTURES, REPO_ROOT
from tests.helpers.prereqs import missing

FIXTURES = FIXTURES / "scicode"
PROBLEMS = FIXTURES / "problems.jsonl"
PROMPT = FIXTURES / "prompt.yaml"


def problems() -> List[dict]:
    return read_jsonl(PROBLEMS)


def sandbox_python() -> str:
    """The interpreter sandboxed SciCode programs run with (skip locally, fail in CI, if unusable)."""
    python = os.environ.get("SKILLS_SANDBOX_PYTHON") or str(REPO_ROOT / ".venv-sandbox" / "bin" / "python")
    check = subprocess.run([python, "-c", "import h5py, scipy, sympy, scicode.parse.parse, scicode.compare.cmp"],
                           capture_output=True, text=True) if Path(python).exists() else None
    if check is None or check.returncode != 0:
        missing(f"no sandbox environment with h5py, scipy, sympy and nvidia-scicode at {python} "
                "(run scripts/setup.sh)")
    return python


def build_h5(path: Path) -> Path:
    """The fixture targets file (tests/fixtures/scicode/build_h5.py), readable by the sandbox's user."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sandbox_python(), str(FIXTURES / "build_h5.py"), str(path)], check=True)
    os.chmod(path, 0o644)
    return path


def fixture_data_dir(root: Path) -> Path:
    """A data dir whose scicode/test_aai.jsonl holds the fixture problems, with the targets file."""
    folder = root / "scicode"
    folder.mkdir(parents=True)
    (folder / "test_aai.jsonl").write_text(PROBLEMS.read_text())
    build_h5(folder / "test_data.h5")
    return root
