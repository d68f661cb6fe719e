"""IFBench fixtures: the grader environment and the NLTK data.

The checkers run in ``.venv-ifbench`` (``scripts/setup.sh``); without it the tests that grade skip
locally and fail in CI, like every other missing prerequisite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.prereqs import environment_or_missing, missing


@pytest.fixture(scope="session")
def ifbench_python() -> str:
    return environment_or_missing("ifbench", "IFBench grader")


@pytest.fixture(scope="session")
def nltk_dir(mirror_dir: Path) -> Path:
    path = mirror_dir / "nltk_data"
    if not path.is_dir():
        missing(f"no NLTK data in the mirror ({path})")
    return path
