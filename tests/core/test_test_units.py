"""The suite's parallel runs keep a unit on one worker (tests/helpers/units.py): a pytest or
pytest-xdist upgrade that breaks the grouping must fail here, not as Slurm tests that stop each
other's cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers.paths import REPO_ROOT

RECORDING_TEST = textwrap.dedent('''
    import json, os

    def record(name):
        with open(os.environ["UNITS_RECORD"], "a") as out:
            out.write(json.dumps([name, os.environ["PYTEST_XDIST_WORKER"]]) + "\\n")
''')


def _write_suite(root: Path) -> None:
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "conftest.py").write_text(textwrap.dedent('''
        import pytest
        pytest_plugins = ["tests.helpers.units"]

        @pytest.fixture(scope="session")
        def local_slurm():
            return "debug"
    '''))
    (root / "recording.py").write_text(RECORDING_TEST)
    for module in ("test_a_slurm", "test_b_slurm"):  # two modules: module scopes would split them
        (root / f"{module}.py").write_text("from recording import record\n" + "".join(
            f"def test_{i}(local_slurm):\n    record('{module}::{i}')\n" for i in range(3)))
    for module in ("test_c", "test_d", "test_e", "test_f"):
        (root / f"{module}.py").write_text("from recording import record\n" + "".join(
            f"def test_{i}():\n    record('{module}::{i}')\n" for i in range(2)))


def test_the_slurm_unit_runs_on_one_worker_while_the_other_works(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    _write_suite(suite)
    record = tmp_path / "record.jsonl"
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{suite}", "UNITS_RECORD": str(record)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", "-q", str(suite)],
                            cwd=suite, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    runs = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(runs) == 14
    slurm_workers = {worker for name, worker in runs if "slurm" in name}
    assert len(slurm_workers) == 1, runs
    assert {worker for _, worker in runs} == {"gw0", "gw1"}, runs  # and the other worker ran the rest
    assert [name for name, _ in runs if "slurm" in name] == [
        f"{module}::{i}" for module in ("test_a_slurm", "test_b_slurm") for i in range(3)]
