"""MathOdyssey: 387 problems from high school to university level (protagolabs/odyssey-math)."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="math-odyssey",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
)
