"""AA-LCR (Artificial Analysis Long Context Reasoning): 100 questions over sets of documents of
~100k tokens, answered in one prompt and graded by an LLM judge (``judge/aalcr``: CORRECT or
INCORRECT; gpt-4.1 by default, any self-hosted model with ``--judge_*``)."""

from skills.registry.spec import BenchmarkSpec, JudgeDefaults

BENCHMARK = BenchmarkSpec(
    name="aalcr",
    eval_split="test",
    prompt_config="generic/default",  # a module constant in the reference: it survives aai's overrides
    metrics_type="aalcr",
    dataset_group="long-context",
    judge=JudgeDefaults(
        model="gpt-4.1",
        server_type="openai",
        server_address="https://api.openai.com/v1",
        args=("++prompt_config=judge/aalcr", "++generation_key=judgement", "++add_generation_stats=False"),
    ),
)

EXTENSIONS = {"metrics": {"aalcr": "skills.benchmarks.aalcr.metrics:AALCRScorer"}}

HF_REPO = "ArtificialAnalysis/AA-LCR"
# The dataset's main branch from 2025-09-11 to 2025-11-26, which covers the reference's commit; later
# revisions changed five questions without updating their token counts (the reference's check fails).
HF_REVISION = "65b2b10a8454fb7139e7a088e3c4a4cc246cb925"
CSV_FILE = "AA-LCR_Dataset.csv"
ZIP_FILE = "extracted_text/AA-LCR_extracted-text.zip"
DOCS_FOLDER = "lcr"  # the zip's top folder: lcr/<document_category>/<document_set_id>/<file>
TOKENIZER = "cl100k_base"
