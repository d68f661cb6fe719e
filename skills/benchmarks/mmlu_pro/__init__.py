"""MMLU-Pro: 12,032 questions with 3-10 options, per-category subsets."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="mmlu-pro",
    eval_split="test",
    prompt_config="eval/aai/mcq-10choices",
    eval_type="multichoice",
    metrics_type="multichoice",
    dataset_group="multichoice",
)
