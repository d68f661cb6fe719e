"""Fixtures every test folder may use: the CI data mirror, the reference prompt set, the vLLM
environment, the tiny model, vLLM servers shared by the session, bubblewrap; the local Slurm
fixtures come from ``tests.helpers.slurm``. A family's own fixtures are in its folder's conftest.py.

Missing prerequisites skip tests on a developer machine but FAIL them in CI (``CI=true``), so a
broken set-up can never turn into a green run made of skips (``tests.helpers.prereqs``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from tests.helpers.files import exclusive
from tests.helpers.paths import MODELS, REPO_ROOT, TOY_DATA
from tests.helpers.prereqs import missing
from tests.helpers.vllm import SharedServer, SharedServers, server_of, shared_server

pytest_plugins = ["tests.helpers.slurm", "tests.helpers.units"]

SERVER_TIMEOUT_S = float(os.environ.get("SKILLS_SERVER_TIMEOUT", "600"))
SHARED_SERVERS = pytest.StashKey[SharedServers]()
LAST_USERS = pytest.StashKey[Dict[str, str]]()


@pytest.fixture(autouse=True)
def _own_prompt_wording_allowed(monkeypatch) -> None:
    """Most tests build throwaway data dirs without the reference's prompt set: they may run on our
    own prompt wording, as a user asks with ``++prompt_source=own`` / ``$SKILLS_PROMPT_SOURCE``. The
    refusal without it is tested where this is unset (tests/core/prompt_sets/test_prompt_source.py)."""
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
def model_build_lock(tmp_path_factory) -> Path:
    """A lock file the session's workers share (the parent of each worker's base temp folder)."""
    return tmp_path_factory.getbasetemp().parent / "model-build.lock"


@pytest.fixture(scope="session")
def tiny_model(vllm_python: Path, model_build_lock) -> Path:
    """Folder of the trained tiny Llama (``trained_outcomes.json`` lists its answers), built with the
    toy data (``.cache/toy-data``) if .cache lacks them (scripts/setup.sh builds both)."""
    model_dir = MODELS / "tiny-llama"
    with exclusive(model_build_lock):  # parallel workers build it once
        if not ((model_dir / ".done").exists() and (TOY_DATA / ".done").exists()):
            cmd = [str(vllm_python), str(REPO_ROOT / "scripts" / "make_tiny_model.py"),
                   "--model-dir", str(model_dir), "--data-dir", str(TOY_DATA)]
            result = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True)
            if result.returncode != 0:
                pytest.fail(f"building the tiny model failed:\n{result.stdout}\n{result.stderr}")
    return model_dir


@pytest.fixture(scope="session")
def toy_data_dir(tiny_model: Path) -> Path:
    """``--data_dir`` holding toy_math/test.jsonl and toy_mcq/test.jsonl."""
    return TOY_DATA


# ----------------------------------------------------------------------------- shared vLLM servers
@pytest.fixture(scope="session")
def shared_servers(vllm_python: Path, tmp_path_factory, pytestconfig) -> SharedServers:
    pool = SharedServers(vllm_python, tmp_path_factory.mktemp("vllm-servers"), SERVER_TIMEOUT_S)
    pytestconfig.stash[SHARED_SERVERS] = pool
    yield pool
    pool.release_all()


@shared_server
def vllm_server(shared_servers: SharedServers, tiny_model: Path) -> SharedServer:
    """vLLM on the tiny model, shared by the tests that need a server, not its lifecycle in a job."""
    return shared_servers.get("vllm_server", tiny_model, "--dtype float32 --max-model-len 2048 --enforce-eager")


def pytest_collection_finish(session: pytest.Session) -> None:
    """The last test of a shared server's unit (in the final order, tests/helpers/units.py) releases
    the server (``pytest_runtest_teardown``)."""
    session.config.stash[LAST_USERS] = {server_of(item): item.nodeid for item in session.items if server_of(item)}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem):
    yield
    pool = item.config.stash.get(SHARED_SERVERS, None)
    if pool is not None:
        for name, last in item.config.stash.get(LAST_USERS, {}).items():
            if last == item.nodeid:
                pool.release(name)


# ----------------------------------------------------------------------------- data and tools
# Default split of each built-in benchmark, for tests that only need input files to exist.
SPLITS = {"math-500": "test", "aime24": "test", "aime25": "test", "gpqa": "diamond", "mmlu-pro": "test",
          "hle": "text"}


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


@pytest.fixture(scope="session")
def bwrap() -> str:
    """bubblewrap, which confines the code sandbox and BFCL's executor and checker."""
    path = shutil.which("bwrap")
    if path is None:
        missing("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    return path
