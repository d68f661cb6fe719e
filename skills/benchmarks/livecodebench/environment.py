"""What LiveCodeBench needs built: its harness in the sandbox's environment (from PyPI's package,
without its LLM-client dependencies), and the tiny code model its end-to-end tests serve: it writes
known programs (pass / wrong / timeout / error) for the default split of the fixture mirror
``tests/fixtures/livecodebench``, prepared here as the tests prepare it.
"""

from pathlib import Path

from skills.environments.spec import Environment, Install, TestModel

SPLIT = "test_v6_2408_2505"
SANDBOX_PACKAGES = Environment(name="sandbox", installs=(Install(("nvidia-livecodebench==26.3",), no_deps=True),),
                               build="skills.benchmarks.livecodebench.environment:build_fork",
                               stamp="skills.benchmarks.livecodebench.environment:fork_stamp")


def fork_stamp(ctx) -> str:
    """The fork's pin, and whether a mirror offers it (a build without it is retried once one does)."""
    from skills.benchmarks.livecodebench.upstream import FORK

    mirrored = bool(ctx.mirror) and (Path(ctx.mirror) / FORK.mirror_name).is_dir()
    return f"livecodebench-fork@{FORK.pinned()[:12]} ({'mirror' if mirrored else 'no mirror'})"


def build_fork(ctx) -> None:
    """The C++ harness into ``<venv>/src/livecodebench-fork``; where it cannot be fetched (no mirror,
    no network) the environment is built without it and C++ grading says so in one line."""
    from skills.benchmarks.livecodebench.upstream import FORK, FORK_HINT
    from skills.config.errors import UsageError
    from skills.data.sources import resolve_mirror
    from skills.data.upstream import fetch

    try:
        fetch(FORK, ctx.venv / "src" / "livecodebench-fork", resolve_mirror(Path(ctx.mirror) if ctx.mirror else None))
    except UsageError as exc:
        print(f"warning: livecodebench-cpp grading will not work: {exc.message} ({FORK_HINT})", flush=True)

TEST_MODEL = TestModel(
    name="tiny-code", about="the tiny code model (offline, ~1 min)", script="scripts/make_tiny_code_model.py",
    args=("--questions", f"{{root}}/.cache/lcb-fixture-data/livecodebench/{SPLIT}.jsonl", "--model-dir", "{model_dir}"),
    inputs=("scripts/make_tiny_code_model.py", "scripts/make_tiny_model.py", "tests/fixtures/livecodebench/*.jsonl"),
    before=(("{orchestrator}", "-m", "skills.cli.app", "prepare_data", "livecodebench", "--mirror", "tests/fixtures",
             "--split", SPLIT, "--data_dir", "{root}/.cache/lcb-fixture-data"),),
)
