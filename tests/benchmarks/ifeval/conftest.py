"""IFEval fixtures: the grader environment (``ifbench``), the official checker's code and NLTK data.

The checker's files come from the data mirror (``<mirror>/ifeval/google-research/``, laid out like
the repository), or ``$SKILLS_IFEVAL_CODE_DIR``. The project's shared mirror does not hold them (the
google-research repository is 1.1 GB). Tests that compare verdicts with the official checker ask for
``ifeval_code`` and skip without it, in CI too, saying so. Tests of our wiring (staging, grader
environment, rows, metric table) ask for ``ifeval_any_code`` / ``ifeval_mirror``: the real code when
present, else our stand-in (``tests/fixtures/ifeval-standin``, NOT the official checker), so they run in CI.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skills.benchmarks.ifeval import CODE_PROBES
from tests.helpers.prereqs import environment_or_missing, missing, not_staged


@pytest.fixture(scope="session")
def ifeval_python() -> str:
    return environment_or_missing("ifbench", "IFEval grader (the ifbench environment)")


STANDIN = Path(__file__).resolve().parents[2] / "fixtures" / "ifeval-standin"


def _real_code(mirror_dir: Path) -> Path:
    return Path(os.environ.get("SKILLS_IFEVAL_CODE_DIR") or mirror_dir / "ifeval" / "google-research")


def _lacking(path: Path):
    return [p for p in CODE_PROBES if not (path / p).is_file()]


@pytest.fixture(scope="session")
def ifeval_code(mirror_dir: Path) -> Path:
    """google-research's official checker: for tests whose verdicts must be the official ones."""
    path = _real_code(mirror_dir)
    lacking = _lacking(path)
    if lacking:
        not_staged(f"google-research's instruction_following_eval (no {lacking[0]} in {path}; "
                   "set SKILLS_IFEVAL_CODE_DIR to a copy)")
    return path


@pytest.fixture(scope="session")
def ifeval_any_code(mirror_dir: Path) -> Path:
    """The official checker when staged, else our stand-in: for tests of our wiring, not of verdicts."""
    path = _real_code(mirror_dir)
    return path if not _lacking(path) else STANDIN


@pytest.fixture(scope="session")
def ifeval_is_standin(ifeval_any_code: Path) -> bool:
    return ifeval_any_code == STANDIN


@pytest.fixture(scope="session")
def nltk_dir(mirror_dir: Path) -> Path:
    path = mirror_dir / "nltk_data"
    if not path.is_dir():
        missing(f"no NLTK data in the mirror ({path})")
    return path


@pytest.fixture(scope="session")
def ifeval_mirror(mirror_dir: Path, ifeval_any_code: Path, tmp_path_factory) -> Path:
    """The data mirror, with checker code under ifeval/google-research/ (linked in from
    ``ifeval_any_code``, the official code or our stand-in, when the mirror itself lacks it)."""
    code = mirror_dir / "ifeval" / "google-research"
    if code == ifeval_any_code:
        return mirror_dir
    root = tmp_path_factory.mktemp("mirror")
    for entry in mirror_dir.iterdir():
        if entry.name != "ifeval":
            (root / entry.name).symlink_to(entry)
    (root / "ifeval").mkdir()
    for entry in (mirror_dir / "ifeval").iterdir():
        if entry.name != code.name:
            (root / "ifeval" / entry.name).symlink_to(entry)
    (root / "ifeval" / code.name).symlink_to(ifeval_any_code)
    return root
