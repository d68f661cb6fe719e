"""SciCode: scientific coding problems solved sub-step by sub-step, graded in the code sandbox.

Each problem is generated step by step (``generate.py``: every prompt carries the earlier steps and
the code the model wrote for them); every generated step is then run, with the code of the steps
before it, against SciCode's numeric targets (``test_data.h5``) in the sandbox (``grader.py``);
``metrics.py`` reports whole problems and sub-steps. Standard library only: registry lookups
import this file.
"""

from skills.registry.spec import BenchmarkSpec, GradingInput

# The numeric targets every test case compares against (SciCode's Google Drive file).
TEST_DATA = "test_data.h5"

BENCHMARK = BenchmarkSpec(
    name="scicode",
    eval_split="test_aai",
    prompt_config="eval/scicode/default",
    eval_type="scicode",
    metrics_type="scicode",
    generation_module="skills.benchmarks.scicode.generate",
    requires_sandbox=True,
    grading_inputs=(GradingInput(f"scicode/{TEST_DATA}", "test_data",
                                 "run `ns prepare_data scicode` (it downloads test_data.h5, 1.05 GB) or pass "
                                 "++eval_config.test_data=PATH"),),
    dataset_group="code",
)

EXTENSIONS = {
    "grader": {"scicode": "skills.benchmarks.scicode.grader:GRADER"},
    "metrics": {"scicode": "skills.benchmarks.scicode.metrics:SciCodeScorer"},
    "environment": {"sandbox+scicode": "skills.benchmarks.scicode.environment:SANDBOX_PACKAGES"},
    "test_model": {"tiny-scicode": "skills.benchmarks.scicode.environment:TEST_MODEL"},
}

SPLITS = ("dev", "test", "test_aai")
# Upstream problem files: Hugging Face names the 65 test problems "test"; the SciCode repository
# (and so the mirror) calls the same file "all".
HF_URL = "https://huggingface.co/datasets/SciCode1/SciCode/raw/main/problems_{split}.jsonl"
MIRROR_NAMES = {"dev": "problems_dev.jsonl", "test": "problems_all.jsonl"}

# Steps whose code is given, not generated: (problem_id, 0-based step index). Their code is the
# function named in the step's header, taken from SciCode's own file for that step.
PREFILLED_STEPS = {("13", 5): "13.6", ("62", 0): "62.1", ("76", 2): "76.3"}
PREFILLED_DIR = "prefilled"  # <data_dir>/scicode/prefilled/<step>.txt
SCICODE_REPO = "scicode-bench/SciCode"
SCICODE_COMMIT = "588b4069d73d211434790bdf4f5a3b80c7830912"
PREFILLED_SHA256 = {
    "13.6": "795a2b57c2d9bb12ca4eaf16d6b8e1f202015a89a886628858abf42a1b18a94e",
    "62.1": "bc9931d88a7d5950091b72a996a25b8be6c936fd136b01005e22c3d45b0008a2",
    "76.3": "4758300d96ea726cdc0fbf749f1bc437030d2a3e8b43bde232ecdeaf636cd367",
}

TEST_DATA_URL = "https://drive.usercontent.google.com/download?id=17G_k65N_6yFFZ2O-jQH00Lh6iaw3z-AW&confirm=y"
TEST_DATA_SIZE = 1_049_345_865
TEST_DATA_SHA256 = "48b0272a88b17dbd29777c217e1b4fb2b019b92e11cc2add847409db9541b890"
