"""Shared fixtures: repository paths, the CI data mirror, the vLLM environment, the tiny model
and one vLLM server per test session.

Missing prerequisites skip tests on a developer machine but FAIL them in CI (``CI=true``), so a
broken set-up can never turn into a green run made of skips.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
import json
from typing import Iterator, List, NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TOY_DATASETS = REPO_ROOT / "tests" / "fixtures" / "toy"
# CPU-only vLLM: small KV cache, no hub access, f32 (bf16 is slow without AMX), no torch.compile.
VLLM_CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1"}
VLLM_CPU_ARGS = "--dtype float32 --max-model-len 1024 --enforce-eager"
SERVER_TIMEOUT_S = float(os.environ.get("SKILLS_SERVER_TIMEOUT", "600"))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> NoReturn:
    """Skip locally, fail in CI."""
    if in_ci():
        pytest.fail(f"CI prerequisite missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(autouse=True)
def _own_prompt_wording_allowed(monkeypatch) -> None:
    """Most tests build throwaway data dirs without the reference's prompt set: they may run on our
    own prompt wording, as a user asks with ``++prompt_source=own`` / ``$SKILLS_PROMPT_SOURCE``. The
    refusal without it is tested where this is unset (tests/test_prompt_source.py)."""
    monkeypatch.setenv("SKILLS_PROMPT_SOURCE", "own")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``$SKILLS_SHARED_DIR``: conformance outputs and the upstream data mirror."""
    value = os.environ.get("SKILLS_SHARED_DIR")
    if not value or not Path(value).is_dir():
        missing("SKILLS_SHARED_DIR is not set to an existing folder")
    return Path(value)


@pytest.fixture(scope="session")
def mirror_dir(shared_dir: Path) -> Path:
    path = shared_dir / "datasets"
    if not path.is_dir():
        missing(f"no data mirror at {path}")
    return path


@pytest.fixture(scope="session")
def vllm_python() -> Path:
    """Interpreter of the vLLM server environment (``$SKILLS_VLLM_VENV``, default .venv-vllm)."""
    venv = Path(os.environ.get("SKILLS_VLLM_VENV", REPO_ROOT / ".venv-vllm"))
    python = venv / "bin" / "python"
    if not python.exists():
        missing(f"no vLLM environment at {venv} (run scripts/setup.sh)")
    return python


@pytest.fixture(scope="session")
def tiny_model_build(vllm_python: Path) -> Path:
    """Build the tiny model and toy data once if .cache lacks them; returns the model folder."""
    model_dir = REPO_ROOT / ".cache" / "models" / "tiny-llama"
    data_dir = REPO_ROOT / ".cache" / "toy-data"
    if not ((model_dir / ".done").exists() and (data_dir / ".done").exists()):
        cmd = [str(vllm_python), str(REPO_ROOT / "scripts" / "make_tiny_model.py"),
               "--model-dir", str(model_dir), "--data-dir", str(data_dir)]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"building the tiny model failed:\n{result.stdout}\n{result.stderr}")
    return model_dir


@pytest.fixture(scope="session")
def tiny_model(tiny_model_build: Path) -> Path:
    """Folder of the trained tiny Llama (``trained_outcomes.json`` lists its answers)."""
    return tiny_model_build


@pytest.fixture(scope="session")
def toy_data_dir(tiny_model_build: Path) -> Path:
    """``--data_dir`` holding toy_math/test.jsonl and toy_mcq/test.jsonl."""
    return REPO_ROOT / ".cache" / "toy-data"


@pytest.fixture(scope="session")
def toy_datasets_dir() -> Path:
    """``--extra_datasets`` folder defining the toy_math and toy_mcq benchmarks."""
    return TOY_DATASETS


@pytest.fixture(scope="session")
def vllm_server(vllm_python: Path, tiny_model: Path, tmp_path_factory) -> Iterator[object]:
    """A vLLM-CPU server on the tiny model for the whole session.

    Yields a ``RunningServer``: ``base_url`` (http://127.0.0.1:PORT/v1), ``model`` (the served
    name = model path), ``port``, ``log_path``.
    """
    from skills.servers.launch import launch

    log_path = tmp_path_factory.mktemp("vllm-server") / "server.log"
    server = launch(
        "vllm", str(tiny_model), gpus=1, server_args=VLLM_CPU_ARGS, python=str(vllm_python),
        log_path=log_path, env=VLLM_CPU_ENV, timeout_s=SERVER_TIMEOUT_S,
    )
    print(f"vLLM server ready at {server.base_url} (log {log_path})", file=sys.stderr)
    try:
        yield server
    finally:
        server.stop()


# ----------------------------------------------------------------------------- shared helpers
# Default split of each built-in benchmark, for tests that only need input files to exist.
SPLITS = {"math-500": "test", "aime24": "test", "aime25": "test", "gpqa": "diamond", "mmlu-pro": "test",
          "hle": "text"}


def read_jsonl(path: Path) -> List[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def cpu_cluster_yaml(tmp_path: Path, vllm_python: Path, executor: str = "local", extra: str = "") -> Path:
    """A cluster config whose vllm server type runs from the separate server venv on the CPU."""
    env = "\n".join(f'      {k}: "{v}"' for k, v in VLLM_CPU_ENV.items())
    path = tmp_path / "cpu.yaml"
    path.write_text(f"executor: {executor}\n{extra}servers:\n  vllm:\n    python: {vllm_python}\n    env:\n{env}\n")
    return path


@pytest.fixture
def data_dir(tmp_path: Path, reference_prompt_sets: Path) -> Path:
    """A data dir with one small row per built-in benchmark's default split (plans need the files)
    and the reference's prompt set, as ``ns prepare_data`` leaves it."""
    root = tmp_path / "data"
    for bench, split in SPLITS.items():
        (root / bench).mkdir(parents=True)
        (root / bench / f"{split}.jsonl").write_text('{"problem": "1+1", "expected_answer": "2"}\n')
    (root / ".prompt-sets").symlink_to(reference_prompt_sets)
    return root


@pytest.fixture(scope="session")
def reference_prompt_sets(mirror_dir: Path, tmp_path_factory) -> Path:
    """``.prompt-sets`` of a data dir holding the reference's prompt set, fetched once from the mirror
    (without it, runs stop: our own wording needs ``++prompt_source=own``)."""
    from skills.prompt_sets.fetch import fetch_prompt_set

    root = tmp_path_factory.mktemp("prompt-sets")
    fetch_prompt_set(root, mirror=mirror_dir)
    return root / ".prompt-sets"


@pytest.fixture
def no_cluster_config_env(monkeypatch) -> None:
    """No cluster config from the developer's environment leaks into CLI tests."""
    for env in ("SKILLS_CONFIG_DIR", "NEMO_SKILLS_CONFIG_DIR", "SKILLS_CONFIG", "NEMO_SKILLS_CONFIG"):
        monkeypatch.delenv(env, raising=False)


def environment_or_missing(name: str, what: str) -> str:
    """Interpreter of a named environment (``$SKILLS_PYTHON_<NAME>`` or ``.venv-<name>``)."""
    from skills.config.interpreters import environment_python

    python = environment_python(name)
    if python is None:
        missing(f"no {what} environment (.venv-{name}): run scripts/setup.sh")
    return python


@pytest.fixture(scope="session")
def bfcl_python() -> Path:
    """Interpreter of the BFCL environment (gorilla at the reference's pin, bfcl-eval 2025.7.17 beside it)."""
    return Path(environment_or_missing("bfcl", "BFCL"))


@pytest.fixture(scope="session")
def tiny_tool_model(vllm_python: Path, bfcl_python: Path) -> Path:
    """The tiny tool-calling model (scripts/make_tiny_tool_model.py), built once if .cache lacks it."""
    model_dir = REPO_ROOT / ".cache" / "models" / "tiny-tool"
    if not (model_dir / ".done").exists():
        cmd = [str(vllm_python), str(REPO_ROOT / "scripts" / "make_tiny_tool_model.py"), "--model-dir", str(model_dir),
               "--bfcl-python", str(bfcl_python)]
        result = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"building the tiny tool model failed:\n{result.stdout}\n{result.stderr}")
    return model_dir


@pytest.fixture(scope="session")
def bwrap() -> str:
    """bubblewrap, which confines BFCL's executor and checker (they eval model-chosen names)."""
    import shutil

    path = shutil.which("bwrap")
    if path is None:
        missing("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    return path
