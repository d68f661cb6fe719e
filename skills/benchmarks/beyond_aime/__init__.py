"""BeyondAIME: 100 problems harder than AIME (ByteDance-Seed/BeyondAIME).

Beyond the walkthrough: the reference reads a Hugging Face split with ``datasets``, whose file
names on the hub are not part of the dataset's contract; the generic ``skills.data.sources.hf_split_rows``
was added for that (a mirror holds the split's rows as JSON lines).
"""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="beyond-aime",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
)
