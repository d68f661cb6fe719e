"""LiveCodeBench-CPP (``nvidia/LiveCodeBench-CPP``): LiveCodeBench problems answered in C++, graded by
the ``livecodebench`` grader with ``language=cpp``: the reference's fork of the LiveCodeBench harness
compiles each program with ``g++`` and runs the tests, inside the code sandbox. See docs/benchmarks.md."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="livecodebench-cpp",
    eval_split="v6_2408_2505",
    prompt_config="eval/livecodebench/cpp_codegen",
    eval_type="livecodebench",
    generation_args=("++eval_config.language=cpp",),
    metrics_type="livecodebench",
    dataset_group="code",
)

BENCH = "livecodebench-cpp"
HF_REPO = "nvidia/LiveCodeBench-CPP"
SPLITS = ("v5_2408_2501", "v6_2408_2505")  # the reference writes both
