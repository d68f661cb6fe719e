"""GSM-Plus: GSM8K under eight perturbations (qintongli/GSM-Plus); splits test and test_rounded.

Beyond the walkthrough: one preparation writes two files (``test`` and ``test_rounded``), and the
reference's own flags (``--categories``, ``--no_rounding_instructions``, ``--cleaning``) pass
through ``ns prepare_data`` (see ``prepare``).
"""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="gsm-plus",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
)
