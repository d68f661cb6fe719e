"""Prompt configs and chat-message building, with the reference's exact message construction.

Which file ``++prompt_config=NAME`` names, in order:

1. an existing file (``x.yaml``, or any existing path),
2. ``config/NAME.yaml`` of the fetched reference prompt set (``skills.prompt_sets``),
3. our own ``prompts/NAME.yaml``: for a prompt the reference has (the set is missing or disabled)
   only when asked with ``++prompt_source=own`` (otherwise one line says so and nothing runs): its
   wording is ours, so the run says so, every output line records ``prompt_source``, and tables,
   ``metrics.json`` and reports mark the benchmark. Prompts only we have (``upstream: false``) need
   no asking.

Messages, as the reference builds them: ``[system] + [user]``; ``system`` is sent exactly as written
(never ``str.format``-ed) and ``++system_message`` (any value, also ``''``) replaces it; ``user`` is
``str.format`` over the row's fields plus ``{examples}``. Few-shot examples come from
``few_shot_examples.examples_type`` or ``++examples_type`` (itself formatted with the row, e.g.
``mmlu_pro_few_shot_{category}``), each filled into ``few_shot_examples.template`` and joined
with no separator; ``{examples}`` is ``prefix + joined + suffix``, or empty when nothing was filled.
"""

from __future__ import annotations

import difflib
import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from skills.config.errors import UsageError
from skills.resources import prompts_dir

FEW_SHOT_KEYS = ("prefix", "template", "suffix", "examples_type")
RETRIEVAL_KEYS = ("retrieval_field", "retrieval_file", "retrieved_entries", "retrieved_few_shots",
                  "randomize_retrieved_entries", "max_retrieved_chars", "max_retrieved_chars_field", "retriever")
# `examples` (inline list) and `upstream: false` (no reference prompt of that name) are ours
CONFIG_KEYS = ("user", "system", "few_shot_examples", "examples", "upstream")
CODE_TAG_KEYS = ("code_begin", "code_end", "code_output_begin", "code_output_end", "code_output_format")


@dataclass
class FewShot:
    prefix: str = ""
    template: str = ""
    suffix: str = ""
    examples_type: Optional[str] = None
    examples: List[Dict[str, Any]] = field(default_factory=list)  # inline examples (our extension)


@dataclass
class PromptConfig:
    user: str
    path: Path
    system: Optional[str] = None
    few_shot: FewShot = field(default_factory=FewShot)
    source: str = "skills-builtin"  # recorded as prompt_source in every output line
    notice: Optional[str] = None  # one line when our wording stands in for a reference prompt
    examples_dir: Optional[Path] = None  # few_shot_examples/ of the reference set
    code_tags: Optional[Dict[str, str]] = None


def _known(root: Path) -> List[str]:
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml") if p.parent.name != "examples")


def resolve_prompt(name: str, prompt_set_dir: Optional[str] = None,
                   data_dir: Optional[str] = None) -> Tuple[Path, str, Optional[str], Any]:
    """(file, prompt_source, notice, prompt set or None) for ``++prompt_config=name``."""
    from skills.prompt_sets import BUILTIN, describe_missing, open_set, wanted_dir

    where = wanted_dir(prompt_set_dir, data_dir)
    pset = open_set(where) if where is not None else None
    path = Path(name).expanduser()
    if path.is_absolute() and not path.is_file() and not name.endswith((".yaml", ".yml")):
        path = path.with_name(path.name + ".yaml")  # the reference reads /x/name as /x/name.yaml
        name = str(path)
    if name.endswith((".yaml", ".yml")) or path.is_file():
        if not path.is_file():
            raise UsageError(f"prompt config file not found: {name}")
        return path, f"file:{path}", None, pset
    key = name[len("nemo_skills/prompt/config/"):] if name.startswith("nemo_skills/prompt/config/") else name
    if pset is not None and pset.config(key) is not None:
        return pset.config(key), pset.label, None, pset  # type: ignore[return-value]
    own = prompts_dir() / f"{key}.yaml"
    if own.is_file():
        notice = None
        if pset is None:  # a reference prompt of that name exists upstream; we use our own words
            notice = (f"prompt {key}: using skills' own wording, not the reference's ({describe_missing(where)}); "
                      "scores are not comparable with published NeMo-Skills numbers")
        return own, BUILTIN, notice, pset
    known = _known(prompts_dir()) + (_known(pset.root / "config") if pset is not None else [])
    close = difflib.get_close_matches(key, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    looked = f"{pset.root / 'config'} or prompts/" if pset is not None else f"prompts/ ({describe_missing(where)})"
    raise UsageError(f"unknown prompt config '{name}' (not in {looked}){hint}")


def prompt_notice(cfg: Any) -> Optional[str]:
    """The one-line notice a job would print for its prompt (None when the reference's words are used)."""
    if cfg.prompt_format != "ns" or not cfg.prompt_config:
        return None
    return load_prompt_config(cfg.prompt_config, None, 0, cfg.prompt_set_dir, cfg.data_dir,
                              prompt_source=OWN).notice


REFERENCE, OWN = "reference", "own"  # ++prompt_source


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


def _few_shot(path: Path, data: Dict[str, Any]) -> FewShot:
    fs = data.get("few_shot_examples") or {}
    if not isinstance(fs, dict):
        raise UsageError(f"{path}: few_shot_examples must be a mapping")
    retrieval = [k for k in fs if k in RETRIEVAL_KEYS]
    if retrieval:
        raise UsageError(f"{path}: few-shot retrieval ({retrieval[0]}) is not supported; use examples_type")
    unknown = [k for k in fs if k not in FEW_SHOT_KEYS]
    if unknown:
        raise UsageError(f"{path}: unknown few_shot_examples key '{unknown[0]}' (known: {', '.join(FEW_SHOT_KEYS)})")
    examples = data.get("examples") or []
    if not isinstance(examples, list) or not all(isinstance(e, dict) for e in examples):
        raise UsageError(f"{path}: 'examples' must be a list of mappings")
    return FewShot(str(fs.get("prefix") or ""), _check_template(path, "few_shot_examples.template", fs.get("template") or ""),
                   str(fs.get("suffix") or ""), fs.get("examples_type"), list(examples))


def load_code_tags(name: str, pset: Any) -> Dict[str, str]:
    """``++code_tags=NAME`` (the reference set's ``code_tags/NAME.yaml``) or a ``.yaml`` path."""
    path = Path(name).expanduser() if name.endswith((".yaml", ".yml")) else (pset.code_tags(name) if pset else None)
    if path is None or not path.is_file():
        where = "the reference prompt set's code_tags/" if pset else "the reference prompt set (not fetched)"
        raise UsageError(f"code_tags '{name}' not found in {where}")
    data = _load_yaml(path)
    unknown = [k for k in data if k not in CODE_TAG_KEYS]
    if unknown:
        raise UsageError(f"{path}: unknown code_tags key '{unknown[0]}'")
    tags = {"code_begin": "```python\n", "code_end": "```\n", "code_output_begin": "```output\n",
            "code_output_end": "```\n", "code_output_format": "qwen"}
    tags.update({k: str(v) for k, v in data.items()})
    if tags["code_output_format"] not in ("qwen", "llama"):
        raise UsageError(f"{path}: code_output_format must be qwen or llama")
    return tags


def load_prompt_config(name: str, examples_type: Optional[str] = None, num_examples: int = 0,
                       prompt_set_dir: Optional[str] = None, data_dir: Optional[str] = None,
                       code_tags: Optional[str] = None, prompt_source: Optional[str] = None) -> PromptConfig:
    """``prompt_source``: ``reference`` refuses our wording where the reference has its own (see the
    module docstring), ``own`` lets it stand in; None: ``$SKILLS_PROMPT_SOURCE``, else reference."""
    from skills.prompt_sets import SOURCE_ENV

    prompt_source = prompt_source or os.environ.get(SOURCE_ENV) or REFERENCE
    if prompt_source not in (REFERENCE, OWN):
        raise UsageError(f"prompt_source must be {REFERENCE} or {OWN}, not '{prompt_source}'")
    path, source, notice, pset = resolve_prompt(name, prompt_set_dir, data_dir)
    data = _load_yaml(path)
    if "user" not in data:
        raise UsageError(f"{path}: missing the 'user' template")
    unknown = [k for k in data if k not in CONFIG_KEYS]
    if unknown:
        raise UsageError(f"{path}: unknown prompt config key '{unknown[0]}' (known: {', '.join(CONFIG_KEYS)})")
    system = data.get("system")
    if system is not None and not isinstance(system, str):
        raise UsageError(f"{path}: 'system' must be a string")
    few_shot = _few_shot(path, data)
    if data.get("upstream") is False:
        notice = None
    if notice is not None and prompt_source != OWN:
        from skills.prompt_sets import describe_missing, wanted_dir

        raise UsageError(f"{notice.split(':', 1)[0]}: {describe_missing(wanted_dir(prompt_set_dir, data_dir))}; "
                         "add ++prompt_source=own to run on skills' own wording instead (its scores are not "
                         "comparable with published NeMo-Skills numbers)")
    if examples_type is not None:
        few_shot.examples_type = examples_type
    if num_examples > 0:
        few_shot.examples = few_shot.examples[:num_examples]
    cfg = PromptConfig(_check_template(path, "user", data["user"]), path, system, few_shot, source, notice,
                       pset.few_shot_dir if pset is not None else None,
                       load_code_tags(code_tags, pset) if code_tags else None)
    if few_shot.examples_type:
        _check_template(path, "examples_type", few_shot.examples_type)
        if cfg.examples_dir is None:
            raise UsageError(f"examples_type '{few_shot.examples_type}' needs the reference prompt set's few-shot "
                             "examples (`ns prepare_data <benchmark>` fetches them)")
        if "{" not in few_shot.examples_type:  # fixed name: check it now, not on the first row
            examples_for(cfg, few_shot.examples_type)
    return cfg


def examples_for(prompt: PromptConfig, name: str) -> List[Dict[str, Any]]:
    from skills.prompt_sets.few_shot import examples_map

    sets = examples_map(prompt.examples_dir)  # type: ignore[arg-type]
    if name not in sets:
        close = difflib.get_close_matches(name, list(sets), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UsageError(f"unknown examples_type '{name}' (not in {prompt.examples_dir}){hint}")
    return sets[name]


def _code_output(stdout: str, tags: Dict[str, str]) -> str:
    """A code block's output as the reference shows it in few-shot examples (completed, no stderr)."""
    if tags["code_output_format"] == "llama":
        body = "completed" + (f"\n[stdout]\n{stdout}[/stdout]" if stdout else "")
        return f"{tags['code_output_begin']}\n\n{body}{tags['code_output_end']}\n\n"
    return f"{tags['code_output_begin']}{stdout}{tags['code_output_end']}"


def with_code_tags(example: Dict[str, Any], tags: Optional[Dict[str, str]]) -> Dict[str, Any]:
    """Replace the ``{code_begin}``-style markers of an example's solution with the model's tags."""
    if not tags or "solution" not in example:
        return example
    example = dict(example)
    text = re.sub(r"(\{code_output_begin\}\n)(.*?)(\{code_output_end\})",
                  lambda m: _code_output(m.group(2), tags), example["solution"], flags=re.DOTALL)
    text = text.replace("{code_begin}", tags["code_begin"]).replace("{code_end}", tags["code_end"])
    example["solution"] = text.replace("{code_output_begin}", "").replace("{code_output_end}", "")
    return example


class PromptBuilder:
    """Turns input rows into chat messages (``prompt_format=ns`` or ``openai``)."""

    def __init__(self, cfg: Any):
        self.cfg = cfg
        self.prompt: Optional[PromptConfig] = None
        self.source = "input-messages"
        if cfg.prompt_format == "ns":
            self.prompt = load_prompt_config(
                cfg.prompt_config, cfg.examples_type, cfg.few_shot_examples, getattr(cfg, "prompt_set_dir", None),
                cfg.data_dir, getattr(cfg, "code_tags", None), getattr(cfg, "prompt_source", None))
            self.source = self.prompt.source

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
        prompt = self.prompt
        fs = prompt.few_shot
        examples = fs.examples
        if fs.examples_type:
            name = self._fill(fs.examples_type, row, "examples_type", where)
            try:
                examples = examples_for(prompt, name)
            except UsageError as exc:
                raise UsageError(f"{where}: {exc.message}") from None
            if self.cfg.few_shot_examples > 0:
                examples = examples[: self.cfg.few_shot_examples]
        filled = "".join(self._fill(fs.template, with_code_tags(ex, prompt.code_tags), "few_shot_examples.template",
                                    where) for ex in examples)
        return f"{fs.prefix}{filled}{fs.suffix}" if filled else ""

    def messages(self, row: Dict[str, Any], where: str, suffix: bool = True) -> List[Dict[str, Any]]:
        """Messages for one row; ``where`` (``file:line``) goes into every error. ``suffix=False``
        leaves ``prompt_suffix`` out (text prompts get it after the chat template, as in the reference)."""
        cfg = self.cfg
        if cfg.prompt_format == "openai":
            msgs = row.get("messages")
            if not isinstance(msgs, list) or not msgs:
                raise UsageError(f"{where}: prompt_format=openai needs a non-empty 'messages' list")
            msgs = [dict(m) for m in msgs]
            if suffix and cfg.prompt_suffix:
                msgs[-1]["content"] = (msgs[-1].get("content") or "") + cfg.prompt_suffix
            if cfg.system_message:  # the reference ignores an empty value here
                if msgs[0].get("role") == "system":
                    msgs[0]["content"] = cfg.system_message
                else:
                    msgs.insert(0, {"role": "system", "content": cfg.system_message})
            return msgs
        fields = dict(row)
        fields["examples"] = self._examples(row, where)
        system = cfg.system_message if cfg.system_message is not None else self.prompt.system
        msgs = [] if system is None else [{"role": "system", "content": system}]
        msgs.append({"role": "user", "content": self._fill(self.prompt.user, fields, "user", where)})
        if suffix and cfg.prompt_suffix:
            msgs[-1]["content"] += cfg.prompt_suffix
        return msgs


def messages_to_text(messages: List[Dict[str, Any]], cfg: Any, row: Dict[str, Any]) -> str:
    """Text-endpoint prompt: the model's chat template applied locally (needs ``transformers``),
    then ``start_assistant_response_key``'s field and ``prompt_suffix``, as in the reference."""
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
        if len(messages) != 1 or messages[0]["role"] != "user":
            raise UsageError(f"tokenizer {name} has no chat template, so only a single user message can be sent")
        text = (getattr(tok, "bos_token", None) or "") + messages[0]["content"]
    if cfg.start_assistant_response_key:
        text += str(row.get(cfg.start_assistant_response_key, ""))
    return text + (cfg.prompt_suffix or "")


_TOKENIZERS: Dict[str, Any] = {}


def _tokenizer(name: str, auto: Any) -> Any:
    if name not in _TOKENIZERS:
        _TOKENIZERS[name] = auto.from_pretrained(name)
    return _TOKENIZERS[name]
