"""The reference's prompt configs and few-shot examples, used as fetched upstream data.

A model answers differently to different words, so a score is only comparable with a published
NeMo-Skills number when the request carries the reference's own prompt text. Those texts are not
ours to re-word or copy into this repository: ``ns prepare_data`` fetches them at a pinned commit
(``skills.prompt_sets.fetch``) into a versioned cache next to the prepared data::

    <data_dir>/.prompt-sets/nemo-skills/<commit>/
        config/<name>.yaml          what ++prompt_config=<name> names
        few_shot_examples/*.py      Python literals, read with ``ast`` (never imported)
        code_tags/<name>.yaml       what ++code_tags=<name> names
        manifest.json               commit, where it came from, sha256 of every file

This module only locates a fetched set; ``skills.inference.prompts`` decides which prompt file a
run uses (an explicit path, else this set, else our own ``prompts/``) and records it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from skills.config.errors import UsageError

REPO = "NVIDIA/NeMo-Skills"
SET_NAME = "nemo-skills"
DEFAULT_COMMIT = "0b012df8a09cd4730d31b16e90a0d8f13d145fb8"
COMMIT_ENV = "SKILLS_PROMPTS_COMMIT"  # pick another upstream commit
DIR_ENV = "SKILLS_PROMPT_SET_DIR"  # a fetched set's folder (set by the planners for every job), or "none"
SOURCE_ENV = "SKILLS_PROMPT_SOURCE"  # default of ++prompt_source (reference | own); the planners pass it on
MIRROR_NAME = "nemo-skills-prompts"  # <mirror>/nemo-skills-prompts laid out like upstream nemo_skills/prompt/
FOLDERS = ("config", "few_shot_examples", "code_tags")
MANIFEST = "manifest.json"
BUILTIN = "skills-builtin"  # prompt_source of our own prompts/ wording
DISABLED = ("none", "builtin")


def pinned_commit(commit: Optional[str] = None) -> str:
    """The commit to use: the argument, ``$SKILLS_PROMPTS_COMMIT``, else the pinned default."""
    value = (commit or os.environ.get(COMMIT_ENV) or DEFAULT_COMMIT).strip()
    if not re.fullmatch(r"[0-9a-f]{7,40}", value):
        raise UsageError(f"prompt set commit '{value}' is not a git commit hash (7-40 hex digits)")
    return value


def sets_root(data_dir: os.PathLike | str) -> Path:
    return Path(data_dir) / ".prompt-sets" / SET_NAME


def set_dir(data_dir: os.PathLike | str, commit: Optional[str] = None) -> Path:
    """Where the set of ``commit`` lives (or would live) under a data folder."""
    return sets_root(data_dir) / pinned_commit(commit)


@dataclass(frozen=True)
class PromptSet:
    """A fetched, complete prompt set (its manifest exists)."""

    root: Path
    commit: str

    @property
    def label(self) -> str:
        """What output lines record as ``prompt_source``."""
        return f"{SET_NAME}@{self.commit}"

    def config(self, name: str) -> Optional[Path]:
        path = self.root / "config" / f"{name}.yaml"
        return path if path.is_file() else None

    def code_tags(self, name: str) -> Optional[Path]:
        path = self.root / "code_tags" / f"{name}.yaml"
        return path if path.is_file() else None

    @property
    def few_shot_dir(self) -> Path:
        return self.root / "few_shot_examples"


def open_set(root: os.PathLike | str) -> Optional[PromptSet]:
    """The set in ``root`` if it was fetched completely (the manifest is written last)."""
    root = Path(root).expanduser()
    manifest = root / MANIFEST
    if not manifest.is_file():
        return None
    try:
        commit = str(json.loads(manifest.read_text(encoding="utf-8"))["commit"])
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(f"{manifest} is damaged; delete {root} and run `ns prepare_data` again") from None
    return PromptSet(root, commit)


def wanted_dir(explicit: Optional[str] = None, data_dir: Optional[str] = None) -> Optional[Path]:
    """Folder of the set a run should use: ``explicit`` (``++prompt_set_dir``), ``$SKILLS_PROMPT_SET_DIR``,
    else ``<data_dir>/.prompt-sets/nemo-skills/<commit>``; None when disabled (``none``)."""
    value = explicit if explicit not in (None, "") else os.environ.get(DIR_ENV) or None
    if value is not None:
        return None if value.strip().lower() in DISABLED else Path(value).expanduser()
    if data_dir is None:
        from skills.data import default_data_dir

        data_dir = str(default_data_dir())
    return set_dir(data_dir)


def describe_missing(where: Optional[Path]) -> str:
    """Why the reference set is not used, for the one-line notice."""
    if where is None:
        return "the reference prompt set is disabled (prompt_set_dir=none)"
    others = sorted(p.name for p in where.parent.glob("*") if (p / MANIFEST).is_file()) if where.parent.is_dir() else []
    hint = f"; fetched commits there: {', '.join(others)} (select one with ${COMMIT_ENV})" if others else ""
    return f"no reference prompt set at {where} (`ns prepare_data <benchmark>` fetches it){hint}"


def planned_dir(data_dir: str) -> str:
    """The value of ``$SKILLS_PROMPT_SET_DIR`` the planners give every generation and judge job."""
    where = wanted_dir(None, data_dir)
    return "none" if where is None else str(where)
