"""Repository folders and the ``ns`` executable the tests run."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
TOY_DATASETS = FIXTURES / "toy"  # --extra_datasets folder defining the toy_math and toy_mcq benchmarks
MODELS = REPO_ROOT / ".cache" / "models"  # the test models scripts/setup.sh builds
TOY_DATA = REPO_ROOT / ".cache" / "toy-data"  # --data_dir with the toy benchmarks' rows (built with tiny-llama)
NS = str(Path(sys.executable).parent / "ns")  # the entry point installed next to this interpreter
