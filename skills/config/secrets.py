"""Secrets never reach commands, logs, sbatch scripts or outputs.

Keys travel by environment variable NAME. When a user passes one by value anyway
(``++server.api_key=sk-...``), the planner moves the value into the launcher's environment under a
name and passes the name (``++server.api_key_env_var=...``), so jobs still get it. ``redact`` masks
secret-looking values in text that is logged or printed, as a second line of defence.
"""

from __future__ import annotations

import os
import re
from typing import List, Sequence, Tuple

_ASSIGN = re.compile(r"([\w.-]+)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s'\"]+)")
_SECRET_WORDS = {"apikey", "api_key", "api-key", "key", "token", "secret", "password", "passwd", "pat"}
_VALUES = re.compile(r"\b(?:sk-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{20,}|nvapi-[A-Za-z0-9_-]{20,}|"
                     r"gh[pousr]_[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{30,}|xox[abp]-[A-Za-z0-9-]{10,})")
MASK = "***"


def is_secret_key(key: str) -> bool:
    """``server.api_key``, ``HF_TOKEN``, ``--api-key``: yes; ``tokens_to_generate``, ``api_key_env_var``
    (a variable NAME), ``max_tokens``: no. Decided on the key's last dotted part."""
    last = key.lower().lstrip("+-").rsplit(".", 1)[-1]
    if last.endswith(("_env_var", "_env")):
        return False
    words = re.split(r"[_-]", last)
    pairs = {f"{a}_{b}" for a, b in zip(words, words[1:])}
    return bool((set(words) - {"key"}) & _SECRET_WORDS or "api_key" in pairs or last in _SECRET_WORDS)


def redact(text: str) -> str:
    """``...api_key=VALUE`` / ``token: VALUE`` and well-known key formats -> ``***``."""
    masked = _ASSIGN.sub(lambda m: m.group(1) + m.group(2) + MASK if is_secret_key(m.group(1)) else m.group(0), text)
    return _VALUES.sub(MASK, masked)


def move_secret_overrides(tokens: Sequence[str], env_name: str) -> Tuple[List[str], List[str]]:
    """``++server.api_key=V`` -> ``++server.api_key_env_var=<env_name>`` with V put in this process's
    environment (jobs inherit it by name). Returns (tokens, names of the secrets moved)."""
    out, names = [], []
    for tok in tokens:
        key, eq, value = tok.lstrip("+").partition("=")
        if eq and key == "server.api_key" and value not in ("", "null", "None"):
            os.environ[env_name] = value
            out.append(f"++server.api_key_env_var={env_name}")
            names.append(env_name)
        else:
            out.append(tok)
    return out, names
