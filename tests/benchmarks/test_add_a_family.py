"""Adding a benchmark family touches only its package (docs/architecture.md, "Add a benchmark").

The toy family of tests/fixtures/new_family/toy_words (data, grader, metric type, environment, test
model) is copied into ``skills/benchmarks/`` of a copy of the code, and nothing else is changed:
``setup.sh``'s builder lists and builds its environment and test model, ``ns prepare_data`` writes its
data, ``ns eval`` (against a canned-answer server) generates, grades with its grader and summarizes
with its metric type, and the layer contracts still hold.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FAMILY = REPO_ROOT / "tests" / "fixtures" / "new_family" / "toy_words"


def changed(a: Path, b: Path, rel: Path = Path()) -> List[str]:
    """Files that differ between two trees, or exist in one only (relative paths)."""
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    out = [str(rel / n) for n in cmp.left_only + cmp.right_only + cmp.diff_files]
    for sub in cmp.common_dirs:
        out += changed(a / sub, b / sub, rel / sub)
    return out


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A copy of the code with the toy family added as a package, and nothing else."""
    root = tmp_path_factory.mktemp("added") / "repo"
    shutil.copytree(REPO_ROOT / "skills", root / "skills", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(FAMILY, root / "skills" / "benchmarks" / "toy_words")
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    assert changed(REPO_ROOT / "skills", root / "skills") == ["benchmarks/toy_words"]
    return root


def run(repo: Path, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(repo), "SKILLS_PROGRESS_INTERVAL": "3600"}
    proc = subprocess.run(list(argv), cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{argv}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_its_environment_and_test_model_are_built(repo):
    listed = run(repo, sys.executable, "-m", "skills.environments", "list").stdout.split()
    assert {"toy-words", "toy-words-model", "sandbox", "vllm", "tiny-llama"} <= set(listed)
    assert listed.index("vllm") < listed.index("sandbox") < listed.index("toy-words")  # the core's first
    assert listed.index("toy-words") < listed.index("tiny-llama")  # environments before test models
    out = run(repo, sys.executable, "-m", "skills.environments", "build", "toy-words", "toy-words-model").stdout
    assert "creating" in out and "ready" in out and "building the toy words model" in out
    assert (repo / ".venv-toy-words" / "bin" / "python").exists()
    assert json.loads((repo / ".cache" / "models" / "toy-words-model" / "words.json").read_text())[0] == "alpha"
    again = run(repo, sys.executable, "-m", "skills.environments", "build", "toy-words", "toy-words-model").stdout
    assert "up to date" in again and "toy-words-model present" in again and "creating" not in again


def test_it_is_prepared_evaluated_and_summarized(repo, tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    ns = [sys.executable, "-m", "skills.cli.app"]
    run(repo, *ns, "prepare_data", "toy-words", f"--data_dir={data}", "--no-prompts")
    assert len((data / "toy-words" / "test.jsonl").read_text().splitlines()) == 4
    stub = next(REPO_ROOT.glob("tests/**/stub_server.py"))
    server = subprocess.Popen([sys.executable, str(stub), "--answer", "{user}"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().split()[1])  # "PORT <n>"
        run(repo, *ns, "eval", "--cluster=local", "--server_type=openai", f"--server_address=http://127.0.0.1:{port}/v1",
            "--model=m", "--benchmarks=toy-words", f"--data_dir={data}", f"--output_dir={out}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = [json.loads(line) for line in (out / "eval-results" / "toy-words" / "output.jsonl").read_text().splitlines()]
    assert [r["is_correct"] for r in rows] == [True, True, True, False]  # its grader
    metrics = json.loads((out / "eval-results" / "toy-words" / "metrics.json").read_text())
    assert metrics["toy-words"]["pass@1"]["accuracy"] == 75.0  # its metric type


def test_the_layers_still_hold(repo):
    lint = Path(sys.executable).with_name("lint-imports")
    assert "2 kept, 0 broken" in run(repo, str(lint), "--no-cache").stdout
