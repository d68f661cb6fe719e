"""Secrets never reach commands, logs, sbatch scripts, manifests or outputs.

Keys travel by environment variable NAME. When a user passes one by value anyway, the planner
moves the value into the launcher's environment under a name and passes only the name, so jobs
still get it (see docs/generation.md, "Secrets"):

- ``++server.api_key=V`` -> ``++server.api_key_env_var=NAME``;
- any other ``++`` setting whose key names a secret (``*key``, ``*token``, ``*secret``,
  ``*password``, e.g. ``++inference.extra_body.api_key=V``) and any URL with ``user:password@``
  -> ``++key=${oc.env:NAME}`` (the program reads the value from its environment at start-up);
- ``--server_args "--api-key V"`` (also ``--api_key``, ``--token``, ``--hf-token``...): the value is
  handed to the server through the environment variable the server reads (vLLM: ``VLLM_API_KEY``;
  Hugging Face tokens: ``HF_TOKEN``), or where a server only takes the flag, as ``"$NAME"`` that
  the job's shell expands, so the value is in no file and no command line of ours.

``redact`` masks secret-looking values in text that is logged or printed, as a second line of
defence: ``key=V`` / ``key: V`` / ``--key V`` for secret keys, ``user:password@`` in URLs and
well-known key formats.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Any, Dict, List, Optional, Sequence, Tuple

_SECRET_LAST = {"apikey", "key", "token", "secret", "password", "passwd", "pat", "credential", "credentials"}
_KEY_PAIRS = {"api_key", "access_key", "secret_key", "private_key", "auth_key", "client_key", "account_key"}
_QUOTED = r"(\"[^\"]*\"|'[^']*'|[^\s'\",}]+)"
_ASSIGN = re.compile(r"([\w.-]+)(\s*[=:]\s*)" + _QUOTED)
_JSON = re.compile(r"(\"([\w.-]+)\"\s*:\s*)(\"(?:[^\"\\]|\\.)*\")")
_FLAG = re.compile(r"(?<![\w-])(--?[\w][\w.-]*)(\s+)" + _QUOTED)
_USERINFO = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)([^\s/@'\"]+)@")
_VALUES = re.compile(r"\b(?:sk-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{20,}|nvapi-[A-Za-z0-9_-]{20,}|"
                     r"gh[pousr]_[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{30,}|xox[abp]-[A-Za-z0-9-]{10,})")
MASK = "***"


def is_secret_key(key: str) -> bool:
    """``server.api_key``, ``HF_TOKEN``, ``--api-key``, ``extra_body.client_secret``: yes;
    ``tokens_to_generate``, ``stop_token_ids``, ``generation_key``, ``api_key_env_var`` (a variable
    NAME): no. Decided on the key's last dotted part: a secret word must end it."""
    last = key.lower().lstrip("+-~").rsplit(".", 1)[-1]
    if last.endswith(("_env_var", "_env")):
        return False
    words = [w for w in re.split(r"[_-]", last) if w]
    if not words:
        return False
    if len(words) == 1 or words[-1] != "key":
        return words[-1] in _SECRET_LAST
    return "_".join(words[-2:]) in _KEY_PAIRS


def _plain_string(value: Any) -> bool:
    """A value a secret can be: text, not a number, flag, list or null (``stop_token_ids=[1,2]`` is not)."""
    if not isinstance(value, str) or value.strip() in ("", "null", "None", "true", "false", "True", "False"):
        return False
    if value.startswith(("[", "{", "${")):
        return False
    try:
        float(value)
        return False
    except ValueError:
        return True


def is_secret_setting(key: str, value: Any) -> bool:
    """A setting whose value must not be written anywhere: a secret key with a text value."""
    return is_secret_key(key) and _plain_string(value)


def has_userinfo(url: Any) -> bool:
    return isinstance(url, str) and bool(_USERINFO.search(url))


def mask_url(url: Any) -> str:
    """``http://user:pass@host/v1`` -> ``http://***@host/v1`` (anything else unchanged)."""
    return _USERINFO.sub(lambda m: m.group(1) + MASK + "@", str(url))


def redact(text: str) -> str:
    """Secret-looking values in ``text`` -> ``***`` (see the module docstring)."""
    def assign(m: "re.Match") -> str:
        keep = m.group(3) == MASK or m.group(3).lstrip("'\"").startswith("$")  # masked already, or a variable
        return m.group(1) + m.group(2) + MASK if is_secret_key(m.group(1)) and not keep else m.group(0)

    masked = _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    masked = _JSON.sub(lambda m: m.group(1) + f'"{MASK}"' if is_secret_key(m.group(2)) else m.group(0), masked)
    masked = _ASSIGN.sub(assign, masked)
    masked = _FLAG.sub(lambda m: m.group(1) + m.group(2) + MASK
                       if m.group(1).startswith("--") and is_secret_key(m.group(1))
                       and not m.group(3).startswith("-") else m.group(0), masked)
    return _VALUES.sub(MASK, masked)


def env_name(prefix: str, key: str) -> str:
    """``SKILLS_SERVER`` + ``inference.extra_body.api_key`` -> ``SKILLS_SERVER_INFERENCE_EXTRA_BODY_API_KEY``."""
    return f"{prefix}_" + re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_").upper()


def env_reference(name: str) -> str:
    """The value of a Hydra setting read from the program's environment at start-up."""
    return "${oc.env:" + name + "}"


def move_secret_overrides(tokens: Sequence[str], env_name_for_key: str,
                          prefix: Optional[str] = None) -> Tuple[List[str], List[str]]:
    """Secrets given by value in ``++`` overrides move into this process's environment (jobs
    inherit them by name); see the module docstring. ``env_name_for_key`` is the name for
    ``++server.api_key`` (e.g. ``SKILLS_SERVER_API_KEY``); other secrets get ``<prefix>_<KEY>``
    (prefix: that name without ``_API_KEY``). Returns (tokens, names of the secrets moved)."""
    prefix = prefix or re.sub(r"_API_KEY$", "", env_name_for_key)
    out, names = [], []
    for tok in tokens:
        marks = tok[: len(tok) - len(tok.lstrip("+"))]
        key, eq, value = tok[len(marks):].partition("=")
        unquoted = value[1:-1] if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"" else value
        if eq and key == "server.api_key" and value not in ("", "null", "None"):
            os.environ[env_name_for_key] = unquoted
            out.append(f"++server.api_key_env_var={env_name_for_key}")
            names.append(env_name_for_key)
        elif eq and (is_secret_setting(key, value) or has_userinfo(unquoted)):
            name = env_name(prefix, key[len("server."):] if key.startswith("server.") else key)
            os.environ[name] = unquoted
            out.append(f"{marks}{key}={env_reference(name)}")
            names.append(name)
        else:
            out.append(tok)
    return out, names


# ----------------------------------------------------------------------------- server arguments
# server flags that carry a secret, and the environment variable each server type reads instead
# (None: the server only takes the flag; its value then comes from "$NAME" expanded by the job's shell)
SECRET_FLAG_ENV: Dict[str, Dict[str, Optional[str]]] = {
    "vllm": {"api-key": "VLLM_API_KEY", "hf-token": "HF_TOKEN"},
    "sglang": {"api-key": None, "hf-token": "HF_TOKEN"},
    "trtllm": {"hf-token": "HF_TOKEN"},
}


def _flag_name(flag: str) -> str:
    return flag.lstrip("-").replace("_", "-").lower()


def move_secret_server_args(server_args: str, server_type: Optional[str],
                            prefix: str) -> Tuple[str, Dict[str, str], List[str]]:
    """Take secrets out of ``--server_args``: (args without their values, {variable the server reads:
    launcher variable NAME holding the value}, names moved). A flag the server only takes on its
    command line keeps it as ``"$NAME"``. Values go into this process's environment."""
    try:
        words = shlex.split(server_args or "")
    except ValueError:
        return server_args, {}, []  # reported by the option checks
    known = SECRET_FLAG_ENV.get(server_type or "", {})
    kept: List[str] = []
    server_env: Dict[str, str] = {}
    names: List[str] = []
    changed = False
    i = 0
    while i < len(words):
        word = words[i]
        flag, eq, value = word.partition("=")
        has_value = bool(eq) or (i + 1 < len(words) and not words[i + 1].startswith("--"))
        if flag.startswith("--") and is_secret_key(flag) and has_value:
            if not eq:
                value = words[i + 1]
                i += 1
            name = env_name(prefix, _flag_name(flag))
            os.environ[name] = value
            names.append(name)
            changed = True
            target = known.get(_flag_name(flag))
            if target:
                server_env[target] = name
            else:
                kept.append(f'{flag} "${name}"')
        else:
            kept.append(shlex.quote(word))
        i += 1
    if not changed:
        return server_args, {}, []
    return " ".join(kept), server_env, names
