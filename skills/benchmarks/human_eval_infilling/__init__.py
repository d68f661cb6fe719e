"""HumanEval-Infilling (single-line, multi-line and random-span splits): the model fills the middle
of a HumanEval function given ``prefix`` and ``suffix``; graded by the grader the reference installs
(``wasiahmad/human-eval-infilling``: prefix + completion + suffix + the task's ``check``, 3 s),
every program run in the code sandbox. See docs/benchmarks.md."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="human-eval-infilling",
    eval_split="random_span",
    prompt_config="generic/fim",
    eval_type="human_eval_infilling",
    metrics_type="human_eval_infilling",
    dataset_group="code",
)

EXTENSIONS = {
    "grader": {"human_eval_infilling": "skills.benchmarks.human_eval_infilling.grader:GRADER"},
    "metrics": {"human_eval_infilling": "skills.benchmarks.human_eval_infilling.metrics:InfillingScorer"},
    "environment": {"sandbox+human-eval-infilling": "skills.benchmarks.human_eval_infilling.environment:SANDBOX_PACKAGES"},
    "upstream": {"human-eval-infilling": "skills.benchmarks.human_eval_infilling.environment:GRADER_SOURCE"},
}

BENCH = "human-eval-infilling"
# split -> the upstream file (openai/human-eval-infilling's data, as the grader caches it)
FILES = {
    "single_line": "HumanEval-SingleLineInfilling.jsonl",
    "multi_line": "HumanEval-MultiLineInfilling.jsonl",
    "random_span": "HumanEval-RandomSpanInfilling.jsonl",
    "random_span_light": "HumanEval-RandomSpanInfillingLight.jsonl",
}
SPLITS = ("single_line", "multi_line", "random_span")  # what the reference prepares
DATA_URL = "https://github.com/openai/human-eval-infilling/raw/master/data/{name}.gz"
