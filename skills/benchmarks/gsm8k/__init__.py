"""GSM8K: grade-school word problems with numeric answers (openai/grade-school-math); splits test and train.

Beyond the walkthrough: the reference corrects eleven training answers by question text; we keep
those answers keyed by a digest of the question (``prepare.FIXES``) rather than copy its table.
"""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="gsm8k",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
)
