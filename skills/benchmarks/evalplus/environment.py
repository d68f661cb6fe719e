"""EvalPlus at the reference's pin in the sandbox's environment.

NeMo-Skills installs ``evalplus @ git+https://github.com/evalplus/evalplus@c91370f``; no PyPI release
matches it (0.3.x reads HumanEval+ v0.1.10 and changed ``evaluate``; 0.2.x reads MBPP+ v0.1.0). The
source is fetched at that commit (the data mirror's ``evalplus-upstream/``, else GitHub's archive of
the commit) and installed without its declared dependencies: graded programs need only numpy (already
there) and the three small packages ``evalplus.data`` imports. The source has no ``.git`` for
setuptools-scm, so the version is given (it carries the commit).
"""

from pathlib import Path

from skills.data.upstream import Upstream
from skills.environments.spec import Environment, TestModel

EVALPLUS = Upstream("evalplus", "evalplus/evalplus", "c91370f8beebafbb166effcc9eedee624c946ca3",
                    "SKILLS_EVALPLUS_COMMIT", "SKILLS_EVALPLUS_URL", "evalplus-upstream",
                    ("evalplus/", "setup.cfg", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"))
# what `import evalplus.data` needs, and `evalplus.evaluate` (the reference's entry point, run directly by the tests)
SUPPORT = ("wget==3.2", "tempdir==0.7.1", "appdirs==1.4.4", "termcolor==2.4.0", "tqdm==4.66.5")
BUILD_TOOLS = ("setuptools-scm==8.1.0", "wheel==0.45.1")


def stamp(ctx) -> str:
    return f"evalplus@{EVALPLUS.pinned()[:12]} | {' '.join(SUPPORT + BUILD_TOOLS)} | v1"


def build(ctx) -> None:
    from skills.data.sources import resolve_mirror
    from skills.data.upstream import fetch, manifest

    commit = EVALPLUS.pinned()
    src = fetch(EVALPLUS, ctx.venv / "src" / "evalplus", resolve_mirror(Path(ctx.mirror) if ctx.mirror else None))
    print(f"{EVALPLUS.repo}@{manifest(src)['commit'][:12]} -> {src}", flush=True)
    ctx.pip("install", "-q", *SUPPORT, *BUILD_TOOLS)
    ctx.pip("install", "-q", "--no-deps", "--no-build-isolation", str(src),
            env={"SETUPTOOLS_SCM_PRETEND_VERSION": f"0.0.0+g{commit[:12]}"})


SANDBOX_PACKAGES = Environment(
    name="sandbox", build="skills.benchmarks.evalplus.environment:build",
    stamp="skills.benchmarks.evalplus.environment:stamp",
    checks=(("-c", "import evalplus.eval, evalplus.data.mbpp, evalplus.gen.util, evalplus.evaluate"),),
)

# The code shelf's end-to-end model: known programs for two HumanEval+, two MBPP+ and the three
# LiveCodeBench-CPP fixture problems (tests/benchmarks/evalplus/shelf.py writes the data it learns).
SHELF_DATA = "{root}/.cache/code-shelf-data"
TEST_MODEL = TestModel(
    name="tiny-code-shelf", about="the tiny code-shelf model (offline, ~1-2 min)",
    script="scripts/make_tiny_code_shelf_model.py",
    args=("--questions", f"{SHELF_DATA}/questions.jsonl", "--model-dir", "{model_dir}"),
    inputs=("scripts/make_tiny_code_shelf_model.py", "scripts/make_tiny_code_model.py", "scripts/make_tiny_model.py",
            "tests/benchmarks/evalplus/shelf.py", "tests/benchmarks/livecodebench_cpp/helpers.py",
            "tests/fixtures/livecodebench-cpp/*.jsonl"),
    before=(("{orchestrator}", "-m", "tests.benchmarks.evalplus.shelf", "--data-dir", SHELF_DATA,
             "--questions", f"{SHELF_DATA}/questions.jsonl"),),
)
