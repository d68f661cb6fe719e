"""Running the ``ns`` command as a user does: a subprocess, output captured."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Dict, Optional

from tests.helpers.paths import NS


def ns(*args: str, cwd: Path, timeout: float = 900, env: Optional[Dict[str, str]] = None
       ) -> subprocess.CompletedProcess:
    """``ns <args>`` in ``cwd`` with the test's environment plus ``env``."""
    return subprocess.run([NS, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
