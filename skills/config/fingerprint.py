"""Fingerprints of the settings that produced a result, compared in words.

A ``Fingerprint`` is a flat, ordered mapping from a setting's name (``inference.temperature``,
``input file``, ``prompts``) to a small JSON value: the setting itself when it is short, else a
digest of it. Two fingerprints are compared setting by setting, so a refusal can say *what*
changed ("inference.temperature 0.0 -> 0.7; input file content changed") instead of "the hash
differs". It is stored as a JSON object (``to_dict`` / ``from_dict``).

Users: the resume journal of a generation (``skills.inference.resume``) refuses to append rows
made with other settings to the rows it has; the same comparison serves any later check that
results put side by side (seeds of one benchmark, rows of one table) were made alike.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

DIGEST_CHARS = 16  # 64 bits: enough to tell versions of one setting apart, short enough to read
SHORT = 80  # longer values are kept as a digest
DIGEST_PREFIX = "sha256:"


def canonical(value: Any) -> str:
    """One text per value: sorted keys, no spaces; anything JSON cannot hold written as its repr."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)


def digest(value: Any) -> str:
    """``sha256:<16 hex>`` of the canonical JSON of ``value`` (bytes and text are hashed as they are)."""
    h = hashlib.sha256()
    if isinstance(value, bytes):
        h.update(value)
    elif isinstance(value, str):
        h.update(value.encode("utf-8", "surrogatepass"))
    else:
        h.update(canonical(value).encode("utf-8", "surrogatepass"))
    return DIGEST_PREFIX + h.hexdigest()[:DIGEST_CHARS]


def file_digest(path: Any) -> str:
    """Digest of a file's bytes (read in blocks: input files can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return DIGEST_PREFIX + h.hexdigest()[:DIGEST_CHARS]


def flatten(settings: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """``{"inference": {"temperature": 0.7}}`` -> ``{"inference.temperature": 0.7}`` (lists stay whole,
    empty mappings vanish)."""
    out: Dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):  # an empty mapping adds nothing (as if unset)
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _stored(value: Any) -> Any:
    """The value kept for a setting: itself when short, else its digest."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else canonical(value)
    if isinstance(value, str) and value.startswith(DIGEST_PREFIX):
        return value
    return value if len(text) <= SHORT else digest(value)


def shown(value: Any) -> str:
    """A recorded value as words show it: a digest by its first 8 hex digits, None as ``unset``."""
    if isinstance(value, str) and value.startswith(DIGEST_PREFIX):
        return value[len(DIGEST_PREFIX):len(DIGEST_PREFIX) + 8]
    return "unset" if value is None else canonical(value)


@dataclass
class Fingerprint:
    """Named settings (see the module docstring); build with ``add`` / ``add_all`` or ``from_dict``."""

    values: Dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, value: Any) -> "Fingerprint":
        self.values[name] = _stored(value)
        return self

    def add_all(self, settings: Mapping[str, Any], prefix: str = "") -> "Fingerprint":
        for name, value in flatten(settings, prefix).items():
            self.add(name, value)
        return self

    def to_dict(self) -> Dict[str, Any]:
        return dict(self.values)

    @classmethod
    def from_dict(cls, data: Any) -> Optional["Fingerprint"]:
        """None for anything that is not a stored fingerprint (a damaged or foreign record)."""
        if not isinstance(data, dict):
            return None
        return cls({str(k): v for k, v in data.items()})

    def changes(self, new: "Fingerprint") -> List[Tuple[str, Any, Any]]:
        """(name, old value, new value) for every setting both record with different values, in
        this fingerprint's order. A setting only one of them records is not compared: another
        version of the program wrote the other (record a mapping as one value, not key by key,
        when its keys may come and go)."""
        return [(name, old, new.values[name]) for name, old in self.values.items()
                if name in new.values and new.values[name] != old]

    def differences(self, new: "Fingerprint") -> List[str]:
        """Each changed setting in words: ``inference.temperature 0.0 -> 0.7``, ``input file content changed``."""
        out = []
        for name, old, now in self.changes(new):
            if any(isinstance(v, str) and v.startswith(DIGEST_PREFIX) for v in (old, now)):
                out.append(f"{name} changed ({shown(old)} -> {shown(now)})")
            else:
                out.append(f"{name} {shown(old)} -> {shown(now)}")
        return out

    def describe_changes(self, new: "Fingerprint", limit: int = 4) -> str:
        """The differences on one line (the first ``limit``, then how many more)."""
        diffs = self.differences(new)
        more = f" and {len(diffs) - limit} more" if len(diffs) > limit else ""
        return "; ".join(diffs[:limit]) + more


def named(pairs: Iterable[Tuple[str, Any]]) -> Fingerprint:
    """A fingerprint from (name, value) pairs, in order."""
    fp = Fingerprint()
    for name, value in pairs:
        fp.add(name, value)
    return fp
