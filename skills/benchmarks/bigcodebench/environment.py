"""The ``bigcodebench`` environment (``.venv-bigcodebench``): what BigCodeBench's tasks import.

The reference pip-installs ``bigcodebench``'s ``Requirements/requirements-eval.txt`` (about 70 pinned
libraries for Python 3.10: numpy 1.21.2, scipy 1.7.2, tensorflow 2.11.1, ...), then ``bigcodebench``,
then ``numpy==1.26.4``. Here the checker (``bigcodebench==0.2.5``, its grading modules need only
numpy) is always installed; the library stack (the requirements file fetched at ``SOURCE``'s pin from
the data mirror's ``bigcodebench-upstream/`` or GitHub) only where its pins install: Python 3.10
(elsewhere matplotlib, which the checker imports, is installed alone). On
any other Python the build says so in one line and leaves the stack out (tasks that import those
libraries then fail); ``SKILLS_BIGCODEBENCH_BASE_PYTHON=/path/to/python3.10`` builds the environment
on that interpreter instead (opt-in: the stack is about 5 GB).
"""

import os
import subprocess
from pathlib import Path

from skills.benchmarks.bigcodebench import ENVIRONMENT_NAME
from skills.data.upstream import Upstream
from skills.environments.spec import Environment

SOURCE = Upstream("bigcodebench", "bigcode-project/bigcodebench", "158327f1893f5bfd5cdfc233344771ccfa7887e9",
                  "SKILLS_BIGCODEBENCH_COMMIT", "SKILLS_BIGCODEBENCH_URL", "bigcodebench-upstream",
                  ("Requirements/requirements-eval.txt", "LICENSE"))
CHECKER = ("bigcodebench==0.2.5", "numpy==1.26.4")
# what the checker itself imports when no stack is there (its reliability_guard closes matplotlib's figures)
CHECKER_IMPORTS = ("matplotlib==3.9.2",)
STACK_PYTHON = (3, 10)  # what requirements-eval.txt pins for
BASE_ENV = "SKILLS_BIGCODEBENCH_BASE_PYTHON"


def base_python() -> str:
    """The interpreter the environment is made from: $SKILLS_BIGCODEBENCH_BASE_PYTHON, else the builder's."""
    import sys

    return os.environ.get(BASE_ENV) or sys.executable


def version_of(python: str) -> tuple:
    out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True)
    return tuple(int(x) for x in out.stdout.split()) if out.returncode == 0 else ()


def stamp(ctx) -> str:
    return f"{' '.join(CHECKER + CHECKER_IMPORTS)} | stack@{SOURCE.pinned()[:12]} on {'.'.join(map(str, version_of(base_python())))} | v1"


def build(ctx) -> None:
    from skills.config.errors import UsageError
    from skills.data.sources import resolve_mirror
    from skills.data.upstream import fetch

    base = base_python()
    if version_of(ctx.python) != version_of(base):  # made from the base interpreter, not the builder's
        ctx.run([base, "-m", "venv", "--clear", str(ctx.venv)])
        ctx.pip("install", "-q", "--upgrade", "pip")
    ctx.pip("install", "-q", "--no-deps", CHECKER[0])
    ctx.pip("install", "-q", CHECKER[1])
    have = version_of(ctx.python)
    if have != STACK_PYTHON:
        ctx.pip("install", "-q", *CHECKER_IMPORTS)
    if have != STACK_PYTHON:
        print(f"note: bigcodebench: its library stack (requirements-eval.txt: numpy==1.21.2, scipy==1.7.2, "
              f"tensorflow==2.11.1, ...) installs only on Python {'.'.join(map(str, STACK_PYTHON))}, not "
              f"{'.'.join(map(str, have))}: built without it (tasks importing those libraries fail); set "
              f"{BASE_ENV} to a Python 3.10 to build it", flush=True)
        return
    try:
        src = fetch(SOURCE, ctx.venv / "src" / "bigcodebench", resolve_mirror(Path(ctx.mirror) if ctx.mirror else None))
    except UsageError as exc:
        print(f"note: bigcodebench: built without its library stack: {exc.message}", flush=True)
        return
    ctx.pip("install", "-q", "-r", str(src / "Requirements" / "requirements-eval.txt"))
    ctx.pip("install", "-q", "--no-deps", CHECKER[0])
    ctx.pip("install", "-q", CHECKER[1])  # as the reference: numpy 1.26.4 last


ENVIRONMENT = Environment(
    name=ENVIRONMENT_NAME, about="BigCodeBench's checker (+ its library stack on Python 3.10: ~5 GB, ~10 min)",
    build="skills.benchmarks.bigcodebench.environment:build", stamp="skills.benchmarks.bigcodebench.environment:stamp",
    checks=(("-c", "import bigcodebench.eval, bigcodebench.gen.util"),), skip_env="SKILLS_SKIP_BIGCODEBENCH",
    upgrade_pip=False,
)
