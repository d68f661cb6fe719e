"""SimpleQA: short factual questions graded by an LLM judge as correct / incorrect / not attempted.

Two splits, as the reference: ``verified`` (its default, 1,000 questions of SimpleQA Verified) and
``test`` (OpenAI's original 4,326). The answer is graded by the judge stage (``judge/simpleqa``:
the judge replies A, B or C); ``eval_type=math`` only adds a boxed-answer check the metrics ignore.
"""

from skills.registry.spec import BenchmarkSpec, JudgeDefaults

BENCHMARK = BenchmarkSpec(
    name="simpleqa",
    eval_split="verified",
    prompt_config="generic/default",
    eval_type="math",
    metrics_type="simpleqa",
    dataset_group="math",
    judge=JudgeDefaults(
        model="o3-mini-20250131",
        server_type="openai",
        server_address="https://api.openai.com/v1",
        args=("++prompt_config=judge/simpleqa", "++generation_key=judgement", "++add_generation_stats=False"),
    ),
)

EXTENSIONS = {"metrics": {"simpleqa": "skills.benchmarks.simpleqa.metrics:SimpleQAScorer"}}

SPLITS = ("verified", "test")
VERIFIED_REPO = "codelion/SimpleQA-Verified"
VERIFIED_FILE = "simpleqa_verified.csv"
TEST_URL = "https://openaipublic.blob.core.windows.net/simple-evals/simple_qa_test_set.csv"
TEST_FILE = "simple_qa_test_set.csv"
