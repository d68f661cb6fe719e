"""ASDiv: 2,305 diverse elementary math word problems (chaochun/nlu-asdiv-dataset)."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="asdiv",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
)
