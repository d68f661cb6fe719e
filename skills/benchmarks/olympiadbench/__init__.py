"""OlympiadBench: 675 text-only English open-ended problems, as Qwen2.5-Math ships them."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="olympiadbench",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
)
