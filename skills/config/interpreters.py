"""Named Python environments: where the interpreter of one is.

Graders, sidecars, the code sandbox and data generators whose dependencies clash with ours run in
environments of their own, known by name (``ifbench``, ``sandbox``, ...). The interpreter of one:
``$SKILLS_PYTHON_<NAME>`` (jobs get it from the cluster config's ``environments``), else the source
checkout's ``.venv-<name>`` (``scripts/setup.sh`` builds those from the declarations of
``skills.environments``). A process started inside one gets ``$SKILLS_IN_ENVIRONMENT=<name>``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

from skills.config.errors import UsageError

INSIDE_ENV = "SKILLS_IN_ENVIRONMENT"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent  # the folder holding the skills package


def python_env_var(environment: str) -> str:
    return "SKILLS_PYTHON_" + re.sub(r"[^A-Za-z0-9]", "_", environment).upper()


def repo_venv(environment: str) -> Path:
    """The source checkout's folder of a named environment (it may not exist)."""
    return PACKAGE_ROOT / f".venv-{environment}"


def environment_python(environment: str) -> Optional[str]:
    """Interpreter of a named environment, or None when none is configured."""
    value = os.environ.get(python_env_var(environment))
    if value:
        if not Path(value).exists():
            raise UsageError(f"${python_env_var(environment)}={value}: no such interpreter")
        return value
    local = repo_venv(environment) / "bin" / "python"
    return str(local) if local.exists() else None
