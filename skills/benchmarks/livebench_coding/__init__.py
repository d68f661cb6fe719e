"""LiveBench coding (HF ``livebench/coding``): LiveCodeBench-style generation problems
(``LCB_generation``) and code completion (``coding_completion``: the model finishes a given partial
solution), graded as the reference: the LiveCodeBench harness of the fork it installs (LiveBench
branch), in the code sandbox. See docs/benchmarks.md."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="livebench-coding",
    prompt_config="generic/default",
    eval_type="livebench_coding",
    metrics_type="livecodebench",
    dataset_group="code",
)

EXTENSIONS = {
    "grader": {"livebench_coding": "skills.benchmarks.livebench_coding.grader:GRADER"},
}

BENCH = "livebench-coding"
HF_REPO = "livebench/coding"
