"""The code shelf's end-to-end fixtures: the tiny code-shelf model and its shared vLLM server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.files import exclusive
from tests.helpers.paths import MODELS, REPO_ROOT
from tests.helpers.vllm import SharedServer, SharedServers, cpu_server_args, shared_server


@pytest.fixture(scope="session")
def tiny_code_shelf_model(vllm_python: Path, model_build_lock, tmp_path_factory) -> Path:
    """The model scripts/setup.sh builds (scripts/make_tiny_code_shelf_model.py); built here when .cache lacks it."""
    model = MODELS / "tiny-code-shelf"
    with exclusive(model_build_lock):
        if not (model / ".done").exists():
            data = tmp_path_factory.mktemp("code-shelf")
            questions = data / "questions.jsonl"
            for cmd, env in (([sys.executable, "-m", "tests.benchmarks.evalplus.shelf", "--data-dir", str(data),
                               "--questions", str(questions)], {}),
                             ([str(vllm_python), str(REPO_ROOT / "scripts" / "make_tiny_code_shelf_model.py"),
                               "--questions", str(questions), "--model-dir", str(model)], {"OMP_NUM_THREADS": "1"})):
                res = subprocess.run(cmd, cwd=REPO_ROOT, env={**os.environ, **env}, capture_output=True, text=True)
                if res.returncode != 0:
                    pytest.fail(f"building the tiny code-shelf model failed:\n{res.stdout}\n{res.stderr}")
    return model


@shared_server
def code_shelf_server(shared_servers: SharedServers, tiny_code_shelf_model: Path) -> SharedServer:
    return shared_servers.get("code_shelf_server", tiny_code_shelf_model, cpu_server_args(1024))
