"""OpenAI MRCR (multi-round coreference): long chats with 2, 4 or 8 identical requests ("needles");
the model must reproduce the one asked for, prefixed with a given random string. Graded by the
required prefix, then difflib's similarity ratio to the expected answer (``eval_type=mrcr``)."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="mrcr",
    eval_split="all",
    metrics_type="mrcr",
    generation_args=("++prompt_format=openai", "++eval_type=mrcr"),
    dataset_group="long-context",
    large_data=True,
)

EXTENSIONS = {
    "grader": {"mrcr": "skills.benchmarks.mrcr.grader:GRADER"},
    "metrics": {"mrcr": "skills.benchmarks.mrcr.metrics:MRCRScorer"},
}

HF_REPO = "openai/mrcr"
NEEDLES = (2, 4, 8)
TOKENIZER = "o200k_base"  # the dataset card's way of counting a chat's tokens
