"""BFCL v3's environment ``bfcl``: gorilla's checker and simulated APIs, and the tiny tool-calling model.

gorilla at the commit the reference's image installs (``GORILLA``; another commit:
$SKILLS_GORILLA_COMMIT), fetched from the data mirror (``<mirror>/gorilla-bfcl``, laid out as the
repository) or GitHub's archive of the commit, installed from source with its dependencies at the
versions of ``requirements-lock.txt``; and PyPI's bfcl-eval 2025.7.17 (gorilla v1.3, the ``pypi``
build) beside it in ``bfcl-builds/``, --no-deps. gorilla pins numpy 1.26.4, tree-sitter 0.21 and a
dozen API SDKs: it cannot share ``.venv`` or ``.venv-vllm``.
"""

import hashlib
from pathlib import Path

from skills.benchmarks import bfcl_v3
from skills.benchmarks.bfcl_v3 import BUILDS_DIR, PINNED, PYPI, PYPI_FOLDER, PYPI_VERSION
from skills.data.upstream import Upstream
from skills.environments.spec import Environment, TestModel

# BFCL v3: the reference's image installs gorilla at this commit (checker and simulated APIs).
GORILLA = Upstream("gorilla", "ShishirPatil/gorilla", "d2177992bbba9aa228b53c0645bf8f5613a5a7c6",
                   "SKILLS_GORILLA_COMMIT", "SKILLS_GORILLA_URL", "gorilla-bfcl",
                   ("berkeley-function-call-leaderboard/", "LICENSE"))
LOCK = "skills/benchmarks/bfcl_v3/requirements-lock.txt"
PYPI_PACKAGE = f"bfcl-eval=={PYPI_VERSION}"


def stamp(ctx) -> str:
    lock = hashlib.sha256((ctx.root / LOCK).read_bytes()).hexdigest()[:16]
    return f"gorilla@{GORILLA.pinned()} | {PYPI_PACKAGE} | {lock} | v2"


def build(ctx) -> None:
    from skills.data.sources import resolve_mirror
    from skills.data.upstream import fetch, manifest

    commit = GORILLA.pinned()
    src = fetch(GORILLA, ctx.venv / "src" / "gorilla", resolve_mirror(Path(ctx.mirror) if ctx.mirror else None))
    print(f"{GORILLA.repo}@{manifest(src)['commit'][:12]} -> {src}", flush=True)
    # the source has no .git for setuptools-scm: the version carries the commit, which the worker reports
    ctx.pip("install", "-q", "-c", str(ctx.root / LOCK), str(src / "berkeley-function-call-leaderboard"),
            "qwen-agent==0.0.27", env={"SETUPTOOLS_SCM_PRETEND_VERSION": f"0.0.0.dev0+g{commit[:12]}"})
    ctx.pip("install", "-q", "--no-deps", "--target", str(ctx.venv / BUILDS_DIR / PYPI_FOLDER), PYPI_PACKAGE)


ENVIRONMENT = Environment(
    name=bfcl_v3.ENVIRONMENT, about=f"gorilla@{GORILLA.commit[:12]} + {PYPI_PACKAGE}; ~1-2 min, ~650 MB",
    checks=tuple(("-m", "skills.benchmarks.bfcl_v3.worker", "--build", b, "identity") for b in (PINNED, PYPI)),
    fresh=True, skip_env="SKILLS_SKIP_BFCL", build="skills.benchmarks.bfcl_v3.environment:build",
    stamp="skills.benchmarks.bfcl_v3.environment:stamp",
)

# The tiny tool-calling model of BFCL's end-to-end tests (it reads bfcl-eval's data from .venv-bfcl).
TEST_MODEL = TestModel(
    name="tiny-tool", about="the tiny tool-calling model (offline, ~1-4 min)", script="scripts/make_tiny_tool_model.py",
    args=("--model-dir", "{model_dir}", "--bfcl-python", "{python:bfcl}"), needs=("vllm", bfcl_v3.ENVIRONMENT),
    inputs=("scripts/make_tiny_tool_model.py", "scripts/make_tiny_model.py", "skills/benchmarks/bfcl_v3/vllm_tool_parser.py"),
)
