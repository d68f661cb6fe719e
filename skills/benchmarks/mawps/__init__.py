"""MAWPS: the addsub, singleeq, singleop and multiarith word problems as microsoft/ToRA ships them."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="mawps",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
)
