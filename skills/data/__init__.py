"""Files: where prepared data lives, mirrors, downloads, and the file conventions every layer shares
(atomic writes, JSONL, ``.done`` markers, locks, an output folder's manifest).

``ns prepare_data`` calls :func:`skills.data.prepare.prepare_benchmarks`; each benchmark module's
``prepare(ctx)`` uses the helpers in :mod:`skills.data.io` and :mod:`skills.data.sources`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional


def default_data_dir() -> Path:
    """``$SKILLS_DATA_DIR`` (or the reference's ``$NEMO_SKILLS_DATA_DIR``), else ``~/.cache/skills/data``."""
    for var in ("SKILLS_DATA_DIR", "NEMO_SKILLS_DATA_DIR"):
        value = os.environ.get(var)
        if value:
            return Path(value).expanduser()
    return Path.home() / ".cache" / "skills" / "data"


def resolve_data_dir(explicit: Optional[str]) -> str:
    """``--data_dir`` when given, else :func:`default_data_dir`."""
    return explicit or str(default_data_dir())


__all__ = ["default_data_dir", "resolve_data_dir"]
