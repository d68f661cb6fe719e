"""Locate the top-level resource folders (prompts/, configs/, cluster_configs/).

In a source checkout they sit next to the ``skills`` package; in an installed wheel they are
shipped inside this package (see setup.py).
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent
_REPO = _PKG.parent.parent


def resource_dir(name: str) -> Path:
    """Return the folder for ``prompts``, ``configs`` or ``cluster_configs``."""
    installed = _PKG / name
    if installed.is_dir():
        return installed
    return _REPO / name


def prompts_dir() -> Path:
    return resource_dir("prompts")


def configs_dir() -> Path:
    return resource_dir("configs")


def cluster_configs_dir() -> Path:
    return resource_dir("cluster_configs")
