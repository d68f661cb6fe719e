"""One job for a grading driver in the sandbox: the host side of the drivers' protocol.

A driver (``skills/benchmarks/<family>/driver.py``: our code, run by the sandbox's interpreter)
reads ``job.json.gz`` from its work dir and prints one line ``<nonce><JSON verdict>`` on a private
copy of stdout (``take_job`` of ``job_side.py``, sent along as ``skills_job.py``, does both); the
program it grades can print anything, but cannot know the nonce, so it cannot forge a verdict. A
missing line (the driver was killed, or ran out of memory) is ``None``.
"""

from __future__ import annotations

import gzip
import json
import secrets
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from skills.sandbox.types import ExecResult, Limits

JOB_FILE = "job.json.gz"
SIDE_FILE = "skills_job.py"  # the sandbox side (job_side.py), importable by the driver from its work dir
_SIDE = Path(__file__).with_name("job_side.py")


def run_job(sandbox: Any, driver: Path, job: Mapping[str, Any], limits: Limits,
            files: Optional[Mapping[str, bytes]] = None, **execute: Any) -> Tuple[ExecResult, Optional[Dict]]:
    """(the execution's result, the driver's verdict or None); ``execute``: the sandbox's other
    ``execute`` options (``python=...``)."""
    nonce = secrets.token_hex(16)
    payload = {JOB_FILE: gzip.compress(json.dumps({**job, "nonce": nonce}).encode()),
               SIDE_FILE: _SIDE.read_bytes(), **(files or {})}
    result = sandbox.execute(driver.read_text(encoding="utf-8"), files=payload, limits=limits, **execute)
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(nonce):
            return result, json.loads(line[len(nonce):])
    return result, None
