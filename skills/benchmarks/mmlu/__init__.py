"""MMLU: 14,042 four-option questions over 57 subjects (Hendrycks et al.), one table per subject category."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="mmlu",
    eval_split="test",
    prompt_config="eval/aai/mcq-4choices-boxed",
    eval_type="multichoice",
    metrics_type="multichoice",
    dataset_group="multichoice",
)

URL = "https://people.eecs.berkeley.edu/~hendrycks/data.tar"
SPLITS = ("test", "dev", "val")
