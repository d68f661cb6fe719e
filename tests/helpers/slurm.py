"""Fixtures for the Slurm tests: a real single-node Slurm (scripts/slurm/start-local-slurm.sh) and
a per-test nemo-run home. tests/conftest.py registers this module as a plugin, so every test may ask
for ``local_slurm`` or ``slurm_cluster``.

Without root/apt the tests skip on a developer machine and FAIL in CI (``CI=true``).
``SKILLS_KEEP_SLURM=1`` leaves the cluster running after the session (faster re-runs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import pytest

from tests.helpers.paths import REPO_ROOT
from tests.helpers.prereqs import missing

SCRIPTS = REPO_ROOT / "scripts" / "slurm"
# 8 advertised CPUs on a 2-core machine (config_overrides): several 1-CPU test jobs at once;
# 2 fake GPUs so that --gpus-per-node is accepted.
SLURM_ENV = {"LOCAL_SLURM_ACCOUNTING": "1", "LOCAL_SLURM_CPUS": "8", "LOCAL_SLURM_GPUS": "2"}


def _slurm_up() -> bool:
    if not shutil.which("sinfo"):
        return False
    res = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return res.returncode == 0 and res.stdout.strip() in ("idle", "mixed", "allocated", "completing")


@pytest.fixture(scope="session")
def local_slurm():
    """Install (apt) and start the local Slurm once per session; yields the partition name."""
    try:
        import nemo_run  # noqa: F401
    except ImportError:
        missing("nemo-run is not installed (pip install -e '.[slurm]')")
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        missing("the local Slurm needs root and apt-get")
    was_up = _slurm_up()
    t0 = time.monotonic()
    res = subprocess.run(["bash", str(SCRIPTS / "start-local-slurm.sh")], env={**os.environ, **SLURM_ENV},
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"start-local-slurm.sh failed:\n{res.stdout}\n{res.stderr}", pytrace=False)
    print(f"\n[local_slurm] ready in {time.monotonic() - t0:.1f} s "
          f"({'was running' if was_up else 'started'})", file=sys.stderr)
    yield os.environ.get("LOCAL_SLURM_PARTITION", "debug")
    if not was_up and os.environ.get("SKILLS_KEEP_SLURM") != "1":
        subprocess.run(["bash", str(SCRIPTS / "stop-local-slurm.sh")], capture_output=True)


@pytest.fixture
def slurm_cluster(local_slurm, tmp_path, monkeypatch):
    """A slurm ClusterConfig whose nemo-run home (``job_dir`` = ``$NEMORUN_HOME``) is in tmp_path."""
    from skills.config.cluster import ClusterConfig

    home = tmp_path / "nemo_run"
    home.mkdir()
    monkeypatch.setenv("NEMORUN_HOME", str(home))
    return ClusterConfig(executor="slurm", name="test-slurm", account="test", partition=local_slurm,
                         job_dir=str(home))


def sacct_states(ids):
    """{slurm id: sacct State} for the given ids (e.g. COMPLETED, FAILED, CANCELLED, TIMEOUT)."""
    res = subprocess.run(["sacct", "-X", "-n", "-P", "-j", ",".join(ids), "-o", "JobIDRaw,State"],
                         capture_output=True, text=True, check=True)
    return dict(line.split("|")[:2] for line in res.stdout.split() if "|" in line)
