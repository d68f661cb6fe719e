"""``++key=value`` / ``+key=value`` / ``~key`` overrides, validated against a dataclass schema.

The reference forwards these tokens blindly, so a typo (``++inference.temprature``) or a bad value
only fails once the job runs, maybe hours later on a cluster. Here every token is checked against
the program's typed config (``GenerateConfig``) with Hydra's own grammar before anything starts,
and re-emitted in a form that survives the trip through a bash command line and Hydra's parser:
string values containing commas, ``=``, quotes or surrounding spaces are re-quoted in Hydra's
quoted-string syntax (``a,b`` would otherwise be read as a sweep).

``apply_overrides`` is the same logic for the generation program itself, so the pipeline and the
program can never disagree about what a token means.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError

FREE = object()  # marks a position inside a free-form dict field (any sub-key allowed)


@dataclass(frozen=True)
class Override:
    """One parsed token. ``kind`` is ``++`` (add or set), ``+`` (add new), ``=`` (set), ``~`` (delete)."""

    kind: str
    key: str
    value: Any  # python value as Hydra parses it (None for deletes)
    token: str  # normalised token, safe to hand to Hydra


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


@lru_cache(maxsize=None)
def _hints(cls: type) -> Dict[str, Any]:
    return {k: _unwrap_optional(v) for k, v in typing.get_type_hints(cls).items()
            if k in {f.name for f in dataclasses.fields(cls)}}


def _is_free(tp: Any) -> bool:
    return tp is Any or tp is dict or typing.get_origin(tp) in (dict, Dict)


@lru_cache(maxsize=None)
def valid_keys(schema: type) -> Tuple[str, ...]:
    """Every dotted key of the schema (nested dataclasses expanded), for suggestions."""
    out: List[str] = []

    def walk(cls: type, prefix: str) -> None:
        for name, tp in _hints(cls).items():
            out.append(prefix + name)
            if dataclasses.is_dataclass(tp):
                walk(tp, prefix + name + ".")

    walk(schema, "")
    return tuple(out)


def field_type(schema: type, key: str) -> Any:
    """Type of ``key`` in the schema; ``FREE`` for a sub-key of a dict field; UsageError if unknown."""
    cls: Any = schema
    parts = key.split(".")
    for i, part in enumerate(parts):
        hints = _hints(cls)
        if part not in hints:
            from skills.config.reference_keys import explain

            refused = explain(key)
            if refused:  # a key of the reference's program: say what to use instead
                raise UsageError(refused)
            close = difflib.get_close_matches(key, valid_keys(schema), n=3, cutoff=0.6)
            if not close:
                prefix = ".".join(parts[:i])
                close = [k for k in valid_keys(schema) if prefix and k.startswith(prefix + ".")][:5]
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"unknown config key '{key}'{hint}")
        tp = hints[part]
        if i == len(parts) - 1:
            return tp
        if _is_free(tp):
            return FREE
        if not dataclasses.is_dataclass(tp):
            raise UsageError(f"config key '{'.'.join(parts[: i + 1])}' is not a group: '{key}' is invalid")
        cls = tp
    return cls


@lru_cache(maxsize=1)
def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def _parse_one(token: str):
    from hydra.errors import HydraException

    try:
        return _parser().parse_overrides([token])[0]
    except HydraException as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"cannot parse override '{token}': {msg}") from None


def _value_of(ov) -> Any:
    if ov.is_sweep_override():
        raise ValueError("sweep")
    return ov.value()


def hydra_quote(value: str) -> str:
    """``value`` in Hydra's quoted-string syntax (round trip checked)."""
    for q in ("'", '"'):
        body = re.sub(r"(\\+)(?=" + re.escape(q) + r"|$)", lambda m: m.group(1) * 2, value)
        body = body.replace(q, "\\" + q)
        quoted = q + body + q
        try:
            if _value_of(_parse_one(f"k={quoted}")) == value:
                return quoted
        except (UsageError, ValueError):
            continue
    raise UsageError(f"value {value!r} cannot be expressed as a Hydra override; put it in a YAML config file")


def _split(token: str) -> Tuple[str, str, Optional[str]]:
    """(kind, key, raw value) without interpreting the value."""
    if token.startswith("~"):
        key, _, raw = token[1:].partition("=")
        return "~", key, (raw if "=" in token else None)
    kind = "++" if token.startswith("++") else "+" if token.startswith("+") else "="
    body = token[len(kind) if kind != "=" else 0:]
    if "=" not in body:
        raise UsageError(f"override '{token}' has no '=' (write ++key=value, +key=value or ~key)")
    key, _, raw = body.partition("=")
    return kind, key, raw


def _is_string_type(tp: Any) -> bool:
    return tp is str


def normalize(token: str, schema: type) -> Override:
    """Check one token's key and grammar; return it in a Hydra-safe, shell-independent form."""
    kind, key, raw = _split(token)
    if not re.fullmatch(r"[A-Za-z_][\w\-]*(\.[\w\-]+)*", key or ""):
        raise UsageError(f"invalid key in override '{token}'")
    tp = field_type(schema, key)
    if kind == "~":
        return Override("~", key, None, f"~{key}")
    prefix = "++" if kind in ("++", "+") else ""
    assert raw is not None
    try:
        value = _value_of(_parse_one(f"{prefix}{key}={raw}"))
        parsed_ok = True
    except (UsageError, ValueError):
        value, parsed_ok = None, False
    text = raw
    if _is_string_type(tp):
        stripped = raw.strip()
        already_quoted = (parsed_ok and isinstance(value, str) and len(stripped) >= 2
                          and stripped[0] in "'\"" and stripped[-1] == stripped[0])
        plain = parsed_ok and (already_quoted or (value is None and raw == "null") or
                               (not isinstance(value, (list, dict)) and value is not None and str(value) == raw))
        if not plain:
            text, value = hydra_quote(raw), raw
    elif tp is FREE or tp is Any:
        if not parsed_ok:  # e.g. a comma list meant as a string inside a dict field
            text, value = hydra_quote(raw), raw
    elif not parsed_ok:
        raise UsageError(f"invalid value in override '{token}' for {key} ({_type_name(tp)})")
    return Override(kind, key, value, f"{'++' if kind in ('++', '+') else ''}{key}={text}")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _build(schema: type):
    from omegaconf import OmegaConf

    return OmegaConf.structured(schema)


def _apply(cfg: Any, ov: Override, schema: type, defaults: Any, source: str) -> None:
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    where = f" (from {source})" if source else ""
    parent_key, _, leaf = ov.key.rpartition(".")
    free = field_type(schema, ov.key) is FREE
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    exists = parent is not None and leaf in parent
    try:
        if ov.kind == "~":
            if not exists:
                raise UsageError(f"cannot delete '{ov.key}'{where}: it is not set")
            if free:
                with open_dict(parent):
                    del parent[leaf]
            else:  # a schema field cannot disappear: deleting restores its default
                OmegaConf.update(cfg, ov.key, OmegaConf.select(defaults, ov.key), merge=False)
            return
        if ov.kind == "+" and exists and (free or OmegaConf.select(cfg, ov.key) != OmegaConf.select(defaults, ov.key)):
            raise UsageError(f"'{ov.token}'{where}: '{ov.key}' is already set; use ++{ov.key}=... to override")
        if ov.kind == "=" and free and not exists:
            raise UsageError(f"'{ov.token}'{where}: '{ov.key}' does not exist; use ++{ov.key}=... to add it")
        if free:
            with open_dict(cfg):
                OmegaConf.update(cfg, ov.key, ov.value, merge=True, force_add=True)
        else:
            OmegaConf.update(cfg, ov.key, ov.value, merge=True)
    except OmegaConfBaseException as exc:
        msg = str(exc).strip().splitlines()[0]
        raise UsageError(f"invalid override '{ov.token}'{where}: {msg}") from None


def parse_overrides(tokens: Sequence[str], schema: type) -> List[Override]:
    """Each token's key, grammar and value type checked once: the parsed tokens a planner composes
    configs from as often as it needs (``check_order``, ``compose``) without parsing them again."""
    return [normalize(tok, schema) for tok in tokens]


def check_order(overrides: Sequence[Override], schema: type, source: str = "", base: Any = None) -> Any:
    """Apply parsed tokens in order (``+key`` on a set key, deleting an unset one, values a field
    refuses fail, naming ``source``); returns the OmegaConf config they make."""
    cfg = base if base is not None else _build(schema)
    defaults = _build(schema)
    for ov in overrides:
        _apply(cfg, ov, schema, defaults, source)
    return cfg


def compose(overrides: Sequence[Override], schema: type) -> Any:
    """Parsed tokens -> a schema instance (what the generation program will see)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_object(check_order(overrides, schema))


def validate_overrides(tokens: Sequence[str], schema: type, source: str = "", base: Any = None) -> List[str]:
    """Normalise and apply ``tokens`` in order (checks keys AND value types); return the safe tokens.

    ``base`` is an OmegaConf config already holding earlier overrides (e.g. benchmark defaults), so
    ``+key`` conflicts across sources are caught too.
    """
    cfg = base if base is not None else _build(schema)
    defaults = _build(schema)
    out = []
    for tok in tokens:
        ov = normalize(tok, schema)
        _apply(cfg, ov, schema, defaults, source)
        out.append(ov.token)
    return out


def apply_overrides(tokens: Sequence[str], schema: type) -> Any:
    """The generation program's entry: tokens (as Hydra receives them) -> a schema instance."""
    return compose(parse_overrides(tokens, schema), schema)


def is_override(token: str) -> bool:
    """Does a leftover CLI token look like an override (as opposed to a stray option/argument)?"""
    if token.startswith(("++", "~")):
        return True
    if token.startswith("+"):
        return "=" in token
    return bool(re.match(r"^[A-Za-z_][\w\-.]*=", token))


def shell_join(tokens: Sequence[str]) -> str:
    import shlex

    return " ".join(shlex.quote(t) for t in tokens)
