"""MMLU-ProX: MMLU-Pro translated into many languages (11,829 questions each); one table per language."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="mmlu-prox",
    eval_split="test",
    prompt_config="generic/default",
    eval_type="multichoice",
    metrics_type="multichoice",
    dataset_group="multichoice",
)

HF_REPO = "li-lab/MMLU-ProX"
HF_FILE = "{language}/{split}-00000-of-00001.parquet"
SPLITS = ("test", "validation")
DEFAULT_LANGUAGES = ("en", "de", "es", "fr", "it", "ja")
