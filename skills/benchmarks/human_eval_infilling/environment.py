"""The grader the reference installs for HumanEval-Infilling, in the sandbox's environment.

NeMo-Skills pip-installs ``git+https://github.com/wasiahmad/human-eval-infilling.git`` (unpinned; not
the unrelated PyPI package of that name). We pin the head of its default branch before the
reference's date, fetched from the data mirror (``human-eval-infilling-upstream/``) or GitHub's
archive of the commit, installed without dependencies (the sandbox already has numpy, tqdm, wget,
tempdir and appdirs: the evalplus family installs them).
"""

from pathlib import Path

from skills.data.upstream import Upstream
from skills.environments.spec import Environment

GRADER_SOURCE = Upstream("human-eval-infilling", "wasiahmad/human-eval-infilling",
                         "e0a239b08710e3fea48b03f4e326b3161bd650f0", "SKILLS_HUMAN_EVAL_INFILLING_COMMIT",
                         "SKILLS_HUMAN_EVAL_INFILLING_URL", "human-eval-infilling-upstream",
                         ("human_eval_infilling/", "setup.py", "requirements.txt", "LICENSE", "README.md"))


def stamp(ctx) -> str:
    return f"human-eval-infilling@{GRADER_SOURCE.pinned()[:12]} | v1"


def build(ctx) -> None:
    from skills.data.sources import resolve_mirror
    from skills.data.upstream import fetch, manifest

    src = fetch(GRADER_SOURCE, ctx.venv / "src" / "human-eval-infilling",
                resolve_mirror(Path(ctx.mirror) if ctx.mirror else None))
    print(f"{GRADER_SOURCE.repo}@{manifest(src)['commit'][:12]} -> {src}", flush=True)
    ctx.pip("install", "-q", "--no-deps", "--no-build-isolation", str(src))


SANDBOX_PACKAGES = Environment(
    name="sandbox", build="skills.benchmarks.human_eval_infilling.environment:build",
    stamp="skills.benchmarks.human_eval_infilling.environment:stamp",
    checks=(("-c", "import human_eval_infilling.execution, human_eval_infilling.evaluate"),),
)
