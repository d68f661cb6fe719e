"""A model's chat template rendered locally, with tools, as ``transformers``' ``apply_chat_template``
renders it (same Jinja settings and helpers), without transformers or any hub download.

Client-side parsing sends the rendered text as a text completion, so the template must come from a
local tokenizer folder (``chat_template.jinja`` or ``tokenizer_config.json``'s ``chat_template``).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from skills.config.errors import UsageError


class TemplateError(Exception):
    pass


def _raise(message: str) -> None:
    raise TemplateError(message)


def _tojson(value: Any, ensure_ascii: bool = False, indent: Optional[int] = None, separators: Any = None,
            sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _environment():
    from jinja2 import ext, nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(ext.Extension):
        """``{% generation %}...{% endgeneration %}`` (assistant-mask markers): rendered as its body."""

        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


def _token(value: Any) -> Optional[str]:
    return value.get("content") if isinstance(value, dict) else value if isinstance(value, str) else None


@lru_cache(maxsize=8)
def load(folder: str) -> Tuple[Dict[str, str], Dict[str, str]]:
    """(named templates, special tokens) of a local tokenizer folder."""
    path = Path(folder)
    config_file = path / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    templates: Dict[str, str] = {}
    raw = config.get("chat_template")
    if isinstance(raw, str):
        templates["default"] = raw
    elif isinstance(raw, list):
        templates.update({t["name"]: t["template"] for t in raw})
    if (path / "chat_template.jinja").is_file():
        templates["default"] = (path / "chat_template.jinja").read_text(encoding="utf-8")
    if not templates:
        raise UsageError(f"{folder} has no chat template (chat_template.jinja or tokenizer_config.json); "
                         "client-side parsing renders prompts with it: pass ++tokenizer=<local tokenizer folder>")
    tokens = {k: _token(v) for k, v in config.items() if k.endswith("_token") and _token(v) is not None}
    return templates, tokens


@lru_cache(maxsize=8)
def _compiled(source: str):
    return _environment().from_string(source)


def render(folder: str, messages: List[dict], tools: Optional[List[dict]] = None, add_generation_prompt: bool = True,
           **kwargs: Any) -> str:
    """The prompt text for ``messages`` (and ``tools``, OpenAI function-tool dicts)."""
    templates, tokens = load(str(folder))
    name = "tool_use" if tools and "tool_use" in templates else "default" if "default" in templates else None
    if name is None:
        raise UsageError(f"{folder}: no default chat template (found: {', '.join(templates)})")
    try:
        return _compiled(templates[name]).render(messages=messages, tools=tools, documents=None,
                                                 add_generation_prompt=add_generation_prompt, **tokens, **kwargs)
    except TemplateError as exc:
        raise UsageError(f"the chat template of {folder} refused the conversation: {exc}") from None
