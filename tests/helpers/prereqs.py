"""Missing prerequisites skip a test on a developer machine but FAIL it in CI (``CI=true``), so a
broken set-up can never turn into a green run made of skips."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> NoReturn:
    """Skip locally, fail in CI."""
    if in_ci():
        pytest.fail(f"CI prerequisite missing: {reason}", pytrace=False)
    pytest.skip(reason)


def not_staged(reason: str) -> NoReturn:
    """Skip, in CI too: upstream code or data that the project's shared mirror does not hold because
    it could not be obtained there (e.g. google-research's IFEval checker, a 1.1 GB repository).
    The product downloads it at its pin; a developer who has a copy points the tests at it."""
    pytest.skip(f"not in the shared mirror: {reason}")


def environment_or_missing(name: str, what: str) -> str:
    """Interpreter of a named environment (``$SKILLS_PYTHON_<NAME>`` or ``.venv-<name>``)."""
    from skills.config.interpreters import environment_python

    python = environment_python(name)
    if python is None:
        missing(f"no {what} environment (.venv-{name}): run scripts/setup.sh")
    return python
