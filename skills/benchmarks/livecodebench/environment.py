"""What LiveCodeBench needs built: its harness in the sandbox's environment (from PyPI's package,
without its LLM-client dependencies), and the tiny code model its end-to-end tests serve: it writes
known programs (pass / wrong / timeout / error) for the default split of the fixture mirror
``tests/fixtures/livecodebench``, prepared here as the tests prepare it.
"""

from skills.environments.spec import Environment, Install, TestModel

SPLIT = "test_v6_2408_2505"
SANDBOX_PACKAGES = Environment(name="sandbox", installs=(Install(("nvidia-livecodebench==26.3",), no_deps=True),))

TEST_MODEL = TestModel(
    name="tiny-code", about="the tiny code model (offline, ~1 min)", script="scripts/make_tiny_code_model.py",
    args=("--questions", f"{{root}}/.cache/lcb-fixture-data/livecodebench/{SPLIT}.jsonl", "--model-dir", "{model_dir}"),
    inputs=("scripts/make_tiny_code_model.py", "scripts/make_tiny_model.py", "tests/fixtures/livecodebench/*.jsonl"),
    before=(("{orchestrator}", "-m", "skills.cli.app", "prepare_data", "livecodebench", "--mirror", "tests/fixtures",
             "--split", SPLIT, "--data_dir", "{root}/.cache/lcb-fixture-data"),),
)
