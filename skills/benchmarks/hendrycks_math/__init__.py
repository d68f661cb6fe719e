"""MATH (Hendrycks et al.): 5,000 test and 7,500 train competition problems, as Qwen2.5-Math ships them."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="hendrycks_math",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
)
