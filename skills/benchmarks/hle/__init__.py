"""Humanity's Last Exam (text-only): graded by an LLM judge, plus boxed-answer symbolic check."""

from skills.registry.spec import BenchmarkSpec, JudgeDefaults

BENCHMARK = BenchmarkSpec(
    name="hle",
    eval_split="text",
    prompt_config="generic/hle",
    eval_type="math",
    metrics_type="hle",
    dataset_group="math",
    judge=JudgeDefaults(
        model="o3-mini-20250131",
        server_type="openai",
        server_address="https://api.openai.com/v1",
        args=("++prompt_config=judge/hle", "++generation_key=judgement", "++add_generation_stats=False"),
    ),
)

EXTENSIONS = {"metrics": {"hle": "skills.benchmarks.hle.metrics:hle_scorer"}}

HF_REPO = "cais/hle"
HF_FILE = "data/test-00000-of-00001.parquet"
# Short split names the reference writes next to ``text`` (one file per category).
CATEGORY_SPLITS = {
    "math": "Math",
    "other": "Other",
    "human": "Humanities/Social Science",
    "phy": "Physics",
    "cs": "Computer Science/AI",
    "bio": "Biology/Medicine",
    "chem": "Chemistry",
    "eng": "Engineering",
}

