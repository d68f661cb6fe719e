"""MMLU-Redux 2.0: 5,700 re-annotated MMLU questions (100 per subject); flagged questions are dropped."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="mmlu-redux",
    eval_split="test",
    prompt_config="generic/general-boxed",
    eval_type="multichoice",
    metrics_type="multichoice",
    dataset_group="multichoice",
)

HF_REPO = "edinburgh-dawg/mmlu-redux-2.0"
HF_FILE = "{subject}/data-00000-of-00001.arrow"  # one `datasets` folder per subject (config), test split
