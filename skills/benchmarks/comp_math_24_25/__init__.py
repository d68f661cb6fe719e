"""comp-math-24-25: AIME 2024/2025 and HMMT 2024/2025 (256 problems), scored per source (``subset_for_metrics``)."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="comp-math-24-25",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
)
