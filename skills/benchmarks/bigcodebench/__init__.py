"""BigCodeBench (full and hard, v0.1.4): library-heavy Python tasks graded by BigCodeBench's own
checker (PyPI ``bigcodebench``: its unittest runner with its time and memory limits), every program
run in the code sandbox with the interpreter of the ``bigcodebench`` environment, where the tasks'
library stack is installed when its pins install on that Python. See docs/benchmarks.md."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="bigcodebench",
    eval_split="full",
    prompt_config="eval/bigcodebench/codegen",
    eval_type="bigcodebench",
    metrics_type="bigcodebench",
    dataset_group="code",
)

EXTENSIONS = {
    "grader": {"bigcodebench": "skills.benchmarks.bigcodebench.grader:GRADER"},
    "metrics": {"bigcodebench": "skills.benchmarks.bigcodebench.grader:BigCodeBenchScorer"},
    "environment": {"bigcodebench": "skills.benchmarks.bigcodebench.environment:ENVIRONMENT"},
    "upstream": {"bigcodebench": "skills.benchmarks.bigcodebench.environment:SOURCE"},
}

BENCH = "bigcodebench"
ENVIRONMENT_NAME = "bigcodebench"
VERSION = "v0.1.4"
HF_REPOS = {"full": "bigcode/bigcodebench", "hard": "bigcode/bigcodebench-hard"}
