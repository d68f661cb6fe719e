"""Data preparation plumbing: where prepared data lives, mirrors, downloads, atomic writes.

``ns prepare_data`` calls :func:`skills.data.prepare.prepare_benchmarks`; each benchmark module's
``prepare(ctx)`` uses the helpers in :mod:`skills.data.io` and :mod:`skills.data.sources`.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """``$SKILLS_DATA_DIR`` (or the reference's ``$NEMO_SKILLS_DATA_DIR``), else ``~/.cache/skills/data``."""
    for var in ("SKILLS_DATA_DIR", "NEMO_SKILLS_DATA_DIR"):
        value = os.environ.get(var)
        if value:
            return Path(value).expanduser()
    return Path.home() / ".cache" / "skills" / "data"


__all__ = ["default_data_dir"]
