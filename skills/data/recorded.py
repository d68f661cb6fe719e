"""The settings a finished output was made with: ``<output>.settings.json`` beside it.

A generation program writes the settings fingerprint of an output (``GenerationTask.settings_fingerprint``:
model, sampling, tokens, prompt wording and source, input file) when the output is final, before its
``.done`` marker; a merge of chunks records the chunks' common fingerprint for the merged file. The
planners refuse to call done, or add seeds to, outputs whose recorded settings differ from a new run's,
and ``ns summarize_results`` refuses a table whose seeds disagree. An output without the file was made
by an earlier version: its settings are unknown, and nothing is refused because of it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

from skills.config.fingerprint import Fingerprint, canonical, shown
from skills.data.io import atomic_open

SUFFIX = ".settings.json"
PER_SEED = ("input file",)  # what may differ between the seeds of one table by design (judge, --input_dir)


def settings_path(output: Path) -> Path:
    return Path(f"{output}{SUFFIX}")


def write_settings(output: Path, fingerprint: Fingerprint) -> None:
    with atomic_open(settings_path(output)) as fh:
        json.dump(fingerprint.to_dict(), fh, indent=1)


def read_settings(output: Path) -> Optional[Fingerprint]:
    """The recorded fingerprint; None when none is recorded (an earlier version) or it is unreadable."""
    try:
        return Fingerprint.from_dict(json.loads(settings_path(output).read_text()))
    except (OSError, ValueError):
        return None


def common_settings(outputs: Iterable[Path]) -> Optional[Fingerprint]:
    """The fingerprint every one of ``outputs`` records (the chunks of one seed), else None."""
    found = [read_settings(Path(p)) for p in outputs]
    if not found or any(fp is None for fp in found):
        return None
    first = found[0]
    return first if all(not first.changes(fp) and not fp.changes(first) for fp in found[1:]) else None


def without(fingerprint: Fingerprint, names: Iterable[str] = PER_SEED) -> Fingerprint:
    drop = set(names)
    return Fingerprint({k: v for k, v in fingerprint.values.items() if k not in drop})


def group_by_settings(files: Sequence[Path]) -> Tuple[List[Tuple[Fingerprint, List[Path]]], List[Path]]:
    """(files grouped by the settings they record, ``PER_SEED`` left out, in file order; the files
    that record none)."""
    groups: List[Tuple[Fingerprint, List[Path]]] = []
    unknown: List[Path] = []
    for f in files:
        fp = read_settings(f)
        if fp is None:
            unknown.append(f)
            continue
        fp = without(fp)
        for known, members in groups:
            if not known.changes(fp) and not fp.changes(known):
                members.append(f)
                break
        else:
            groups.append((fp, [f]))
    return groups, unknown


def seeds_named(files: Sequence[Path]) -> str:
    """``seeds 0, 1`` / ``seed 3`` / ``output.jsonl`` (a greedy file)."""
    seeds = [m.group(1) for f in files if (m := re.fullmatch(r"output-rs(\d+)\.jsonl", Path(f).name))]
    if len(seeds) != len(files):
        return ", ".join(Path(f).name for f in files)
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(seeds)


def varying(fingerprints: Sequence[Fingerprint]) -> List[str]:
    """The settings whose values differ among ``fingerprints`` (recorded by all), in order."""
    first = fingerprints[0]
    return [name for name in first.values if all(name in fp.values for fp in fingerprints)
            and len({canonical(fp.values[name]) for fp in fingerprints}) > 1]


def label(fingerprint: Fingerprint, names: Sequence[str]) -> str:
    """``inference.temperature=0.6, prompt wording=67b0768d``: what tells one setting's table apart."""
    return ", ".join(f"{name}={shown(fingerprint.values[name])}" for name in names)


def disagreement(groups: Sequence[Tuple[Fingerprint, Sequence[Path]]]) -> str:
    """``seeds 0, 1 vs seeds 2, 3: inference.temperature 0.6 -> 0.7`` for the groups of one table."""
    first, members = groups[0]
    return "; ".join(f"{seeds_named(members)} vs {seeds_named(m)}: {first.describe_changes(fp)}"
                     for fp, m in groups[1:])


def mixed_refusal(bench: str, groups: Sequence[Tuple[Fingerprint, Sequence[Path]]]) -> str:
    """The one line that refuses to put seeds made with different settings in one score."""
    return (f"{bench}: its seeds were made with different settings ({disagreement(groups)}), so one score would "
            "average two settings; `ns summarize_results --split_by_settings` prints one table per setting, or "
            "make the odd seeds again with the others' settings (--rerun_done)")
