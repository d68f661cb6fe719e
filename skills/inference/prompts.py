"""Prompt configs (YAML under prompts/) and chat-message building.

A prompt config has ``user`` (a ``str.format`` template over the input row's fields), an optional
``system`` and optional few-shot examples that fill ``{examples}`` in ``user``:

    few_shot_examples: {prefix: "...", template: "...{problem}...{solution}...", suffix: "..."}
    examples: [{problem: ..., solution: ...}, ...]      # or examples_type: NAME -> prompts/examples/NAME.yaml

Every error names the prompt file, the missing key and the input file + line, because a bad
template otherwise only shows up as a KeyError deep inside a long job.
"""

from __future__ import annotations

import difflib
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from skills.config.errors import UsageError
from skills.resources import prompts_dir


@dataclass
class FewShot:
    prefix: str = ""
    template: str = ""
    suffix: str = ""
    examples: List[Dict[str, Any]] = field(default_factory=list)


@dataclass
class PromptConfig:
    user: str
    path: Path
    system: Optional[str] = None
    few_shot: Optional[FewShot] = None


def resolve_prompt_path(name: str) -> Path:
    """``x.yaml`` is a path; anything else is ``prompts/<name>.yaml``."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name).expanduser()
        if not path.is_file():
            raise UsageError(f"prompt config file not found: {name}")
        return path
    root = prompts_dir()
    path = root / f"{name}.yaml"
    if not path.is_file():
        known = sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml")
                       if p.parent.name != "examples")
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; available: {', '.join(known)}"
        raise UsageError(f"unknown prompt config '{name}' (no {path.name} in prompts/){hint}")
    return path


def _load_yaml(path: Path) -> Dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a prompt config must be a mapping with a 'user' template")
    return data


def _check_template(path: Path, what: str, template: Any) -> str:
    if not isinstance(template, str):
        raise UsageError(f"{path}: '{what}' must be a string")
    try:
        list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UsageError(f"{path}: '{what}' is not a valid template ({exc}); write literal braces as {{{{ }}}}") from None
    return template


def load_prompt_config(name: str, examples_type: Optional[str] = None, num_examples: int = 0) -> PromptConfig:
    path = resolve_prompt_path(name)
    data = _load_yaml(path)
    if "user" not in data:
        raise UsageError(f"{path}: missing the 'user' template")
    system = data.get("system")
    if system is not None:
        _check_template(path, "system", system)
    few_shot = None
    fs = data.get("few_shot_examples")
    ex_type = examples_type or (fs or {}).get("examples_type")
    examples = data.get("examples") or []
    if ex_type:
        ex_path = prompts_dir() / "examples" / f"{ex_type}.yaml"
        if not ex_path.is_file():
            raise UsageError(f"unknown examples_type '{ex_type}' (no {ex_path.name} in prompts/examples/)")
        examples = _load_yaml(ex_path).get("examples") or []
    if fs:
        few_shot = FewShot(fs.get("prefix", ""), _check_template(path, "few_shot_examples.template",
                                                                 fs.get("template", "")),
                           fs.get("suffix", ""), list(examples))
        if num_examples > 0:
            few_shot.examples = few_shot.examples[:num_examples]
    return PromptConfig(_check_template(path, "user", data["user"]), path, system, few_shot)


class PromptBuilder:
    """Turns input rows into chat messages (``prompt_format=ns`` or ``openai``)."""

    def __init__(self, cfg: Any):
        self.cfg = cfg
        self.prompt: Optional[PromptConfig] = None
        if cfg.prompt_format == "ns":
            self.prompt = load_prompt_config(cfg.prompt_config, cfg.examples_type, cfg.few_shot_examples)

    def _fill(self, template: str, fields: Dict[str, Any], what: str, where: str) -> str:
        try:
            return template.format(**fields)
        except KeyError as exc:
            key = exc.args[0]
            avail = ", ".join(sorted(k for k in fields if k != "examples"))
            raise UsageError(f"{where}: prompt {self.prompt.path} ({what}) needs field '{key}', "
                             f"which the input line lacks (it has: {avail})") from None
        except (IndexError, ValueError, AttributeError) as exc:
            raise UsageError(f"{where}: cannot fill prompt {self.prompt.path} ({what}): {exc}") from None

    def _examples(self, row: Dict[str, Any], where: str) -> str:
        fs = self.prompt.few_shot
        if not fs or not fs.examples:
            return ""
        filled = [self._fill(fs.template, ex, "few_shot_examples.template", where) for ex in fs.examples]
        return fs.prefix + "".join(filled) + fs.suffix

    def messages(self, row: Dict[str, Any], where: str) -> List[Dict[str, Any]]:
        """Messages for one row; ``where`` (``file:line``) goes into every error."""
        cfg = self.cfg
        if cfg.prompt_format == "openai":
            msgs = row.get("messages")
            if not isinstance(msgs, list) or not msgs:
                raise UsageError(f"{where}: prompt_format=openai needs a non-empty 'messages' list")
            msgs = [dict(m) for m in msgs]
            if cfg.system_message is not None:
                if msgs[0].get("role") == "system":
                    msgs[0]["content"] = cfg.system_message
                else:
                    msgs.insert(0, {"role": "system", "content": cfg.system_message})
        else:
            fields = dict(row)
            fields["examples"] = self._examples(row, where)
            system = cfg.system_message if cfg.system_message is not None else self.prompt.system
            msgs = []
            if system is not None:
                msgs.append({"role": "system", "content": self._fill(system, fields, "system", where)
                             if cfg.system_message is None else system})
            msgs.append({"role": "user", "content": self._fill(self.prompt.user, fields, "user", where)})
        if cfg.prompt_suffix:
            msgs[-1]["content"] = (msgs[-1].get("content") or "") + cfg.prompt_suffix
        return msgs


def messages_to_text(messages: List[Dict[str, Any]], cfg: Any, row: Dict[str, Any]) -> str:
    """Text-endpoint prompt: the model's chat template applied locally (needs ``transformers``)."""
    try:
        from transformers import AutoTokenizer  # type: ignore
    except ImportError:
        raise UsageError("inference.endpoint_type=text needs the 'transformers' package for the chat template") from None
    name = cfg.tokenizer or cfg.server.tokenizer or cfg.server.model
    tok = _tokenizer(name, AutoTokenizer)
    if getattr(tok, "chat_template", None):
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                       **dict(cfg.chat_template_kwargs or {}))
    else:
        if any(m["role"] == "system" for m in messages):
            raise UsageError(f"tokenizer {name} has no chat template, so a system message cannot be used")
        text = (tok.bos_token or "") + messages[-1]["content"]
    if cfg.start_assistant_response_key:
        text += str(row.get(cfg.start_assistant_response_key, ""))
    return text


_TOKENIZERS: Dict[str, Any] = {}


def _tokenizer(name: str, auto: Any) -> Any:
    if name not in _TOKENIZERS:
        _TOKENIZERS[name] = auto.from_pretrained(name)
    return _TOKENIZERS[name]
