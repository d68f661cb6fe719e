"""LiveCodeBench (code generation, ``livecodebench/code_generation_lite``): model-written Python
programs graded in the code sandbox by LiveCodeBench's own test harness.

Splits are date windows over a release (``test_v5_2407_2412`` = release v5, contest dates from
2024-07-01 to 2024-12-31). ``prepare.py`` writes ``<split>.jsonl`` (the generation input, no tests,
as the reference) and ``<split>.tests.jsonl`` (the still-encoded tests the grader reads, so grading
works offline). See docs/benchmarks.md.
"""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="livecodebench",
    eval_split="test_v6_2408_2505",
    prompt_config="eval/livecodebench/python_codegen",
    eval_type="livecodebench",
    metrics_type="livecodebench",
    dataset_group="code",
)

EXTENSIONS = {
    "grader": {"livecodebench": "skills.benchmarks.livecodebench.grader:GRADER"},
    "metrics": {"livecodebench": "skills.benchmarks.livecodebench.metrics:LiveCodeBenchScorer"},
    "environment": {"sandbox+livecodebench": "skills.benchmarks.livecodebench.environment:SANDBOX_PACKAGES"},
    "test_model": {"tiny-code": "skills.benchmarks.livecodebench.environment:TEST_MODEL"},
}

HF_REPO = "livecodebench/code_generation_lite"
# The reference's default splits, in the order it writes them.
DEFAULT_SPLITS = ("test_v5_2408_2502", "test_v5_2407_2412", "test_v5_2410_2502", "test_v6_2408_2505")
