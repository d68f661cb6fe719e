"""SVAMP: 1,000 elementary word problems with varied structure (arkilpatel/SVAMP)."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="svamp",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
)
