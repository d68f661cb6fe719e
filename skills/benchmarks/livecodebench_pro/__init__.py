"""LiveCodeBench Pro: competitive-programming problems whose verdicts come from LiveCodeBench Pro's
own judge, outside this tool (as in the reference). We prepare the problems, generate, and turn each
generation into the judge's submission fields (``problem_id``, ``text_response``, ``response_meta``);
no local score exists. See docs/benchmarks.md."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="livecodebench-pro",
    prompt_config="eval/livecodebench/python_codegen",
    eval_type="livecodebench_pro",
    metrics_type="livecodebench_pro",
    dataset_group="code",
)

EXTENSIONS = {
    "grader": {"livecodebench_pro": "skills.benchmarks.livecodebench_pro.grader:GRADER"},
    "metrics": {"livecodebench_pro": "skills.benchmarks.livecodebench_pro.grader:SubmissionScorer"},
}

HF_REPO = "anonymous1926/anonymous_dataset"
BENCH = "livecodebench-pro"
