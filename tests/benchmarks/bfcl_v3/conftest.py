"""BFCL v3 fixtures: the checker's environment, the tiny tool-calling model and its shared server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.files import exclusive
from tests.helpers.paths import MODELS, REPO_ROOT
from tests.helpers.prereqs import environment_or_missing
from tests.helpers.vllm import SharedServer, SharedServers, cpu_server_args, shared_server


@pytest.fixture(scope="session")
def bfcl_python() -> Path:
    """Interpreter of the BFCL environment (gorilla at the reference's pin, bfcl-eval 2025.7.17 beside it)."""
    return Path(environment_or_missing("bfcl", "BFCL"))


@pytest.fixture(scope="session")
def tiny_tool_model(vllm_python: Path, bfcl_python: Path, model_build_lock) -> Path:
    """The tiny tool-calling model (scripts/make_tiny_tool_model.py), built once if .cache lacks it."""
    model_dir = MODELS / "tiny-tool"
    with exclusive(model_build_lock):  # parallel workers build it once
        if not (model_dir / ".done").exists():
            cmd = [str(vllm_python), str(REPO_ROOT / "scripts" / "make_tiny_tool_model.py"),
                   "--model-dir", str(model_dir), "--bfcl-python", str(bfcl_python)]
            result = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True)
            if result.returncode != 0:
                pytest.fail(f"building the tiny tool model failed:\n{result.stdout}\n{result.stderr}")
    return model_dir


@shared_server
def tool_server(shared_servers: SharedServers, tiny_tool_model: Path) -> SharedServer:
    """vLLM on the tiny tool model with our tool-call parser plugin loaded (--tool-parser-plugin, as the
    tutorial loads Nemotron's): it parses tool calls for requests that carry tools (server-side
    parsing) and leaves text completions alone (client-side parsing), so both modes share it."""
    plugin = tiny_tool_model / "skills_json_tool_parser.py"
    args = (f"{cpu_server_args(2048)} --enable-auto-tool-choice --tool-parser-plugin {plugin} "
            "--tool-call-parser skills_json")
    return shared_servers.get("tool_server", tiny_tool_model, args)
