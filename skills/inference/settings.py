"""The configuration of a generation program: Hydra-composed, typed, checked across fields.

``load_config`` composes ``++`` overrides (and ``--config-path/--config-name`` YAMLs) onto a
``GenerateConfig`` (or a module's subclass) through Hydra's compose API, so Hydra never creates
output folders or changes directory; ``check_config`` holds the cross-field rules the schema cannot
express. The planners call the same checks before any job exists.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.config.secrets import mask_url
from skills.inference.config import GenerateConfig


def log(msg: str) -> None:
    """One line on stderr in one write: the runs of a job share its output pipe, and print's separate
    write of the newline let another run's line glue onto this one."""
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def split_argv(argv: Sequence[str]) -> Tuple[Optional[str], Optional[str], List[str]]:
    """(config dir, config name, overrides); Hydra's own output/logging tokens are dropped."""
    config_path = config_name = None
    overrides: List[str] = []
    it = iter(argv)
    for tok in it:
        for flag in ("--config-path", "--config-dir", "--config-name", "-cp", "-cd", "-cn"):
            if tok == flag or tok.startswith(flag + "="):
                value = tok.split("=", 1)[1] if "=" in tok else next(it, None)
                if value is None:
                    raise UsageError(f"{flag} needs a value")
                if flag in ("--config-name", "-cn"):
                    config_name = value
                else:
                    config_path = value
                break
        else:
            body = tok.lstrip("+~")
            if body.startswith(("hydra.", "hydra/")):
                continue
            if tok.startswith("-"):
                raise UsageError(f"unknown option '{tok}' (settings are ++key=value overrides; see --help)")
            overrides.append(tok)
    return config_path, config_name, overrides


def store_name(schema: type) -> str:
    """Name of a schema in Hydra's ConfigStore (``base_generation_config`` for the default one)."""
    return "base_generation_config" if schema is GenerateConfig else f"base_{schema.__name__}"


def load_config(argv: Sequence[str], schema: type = GenerateConfig, check: bool = True) -> Any:
    """Compose the config with Hydra and return the typed dataclass; any problem -> UsageError."""
    from hydra import compose, initialize, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    config_path, config_name, overrides = split_argv(argv)
    try:  # clear messages with closest-key suggestions (shared with the ns CLI)
        from skills.config.overrides import validate_overrides
    except ImportError:  # pragma: no cover
        validate_overrides = None
    if validate_overrides is not None and config_name is None:
        validate_overrides(overrides, schema)
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=store_name(schema), node=schema)
    try:
        if config_path:
            folder = Path(config_path).expanduser().resolve()
            if not folder.is_dir():
                raise UsageError(f"--config-path {config_path} is not a folder")
            ctx = initialize_config_dir(config_dir=str(folder), version_base=None)
        else:
            ctx = initialize(config_path=None, version_base=None)
        with ctx:
            composed = compose(config_name=config_name or store_name(schema), overrides=list(overrides))
        composed = OmegaConf.to_container(composed, resolve=True)
        composed.pop("defaults", None)
        cfg = OmegaConf.merge(OmegaConf.structured(schema), composed)
        obj = OmegaConf.to_object(cfg)
    except (HydraException, OmegaConfBaseException) as exc:
        msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"invalid configuration: {msg}") from None
    if check:
        check_config(obj)
    return obj


def check_config(cfg: GenerateConfig) -> None:
    """Cross-field checks the schema cannot express."""
    if cfg.prompt_format not in ("ns", "openai"):
        raise UsageError(f"prompt_format must be 'ns' or 'openai', not '{cfg.prompt_format}'")
    if cfg.prompt_format == "ns" and not cfg.prompt_config:
        raise UsageError("prompt_format=ns needs ++prompt_config=NAME (or ++prompt_format=openai)")
    if cfg.prompt_format == "openai" and cfg.prompt_config:
        raise UsageError("prompt_format=openai builds prompts from each line's 'messages'; drop ++prompt_config")
    check_values(cfg)
    if cfg.inference.endpoint_type not in ("chat", "text", "responses"):
        raise UsageError(f"inference.endpoint_type must be chat, text or responses, not '{cfg.inference.endpoint_type}'")
    strategy = cfg.server.context_limit_retry_strategy
    if strategy is not None:
        if strategy in ("reduce_prompt_from_start", "reduce_prompt_from_end"):
            raise UsageError(f"server.context_limit_retry_strategy={strategy} (the reference trims the prompt with a "
                             "tokenizer) is not implemented; use reduce_generation, or ++soft_fail=True alone")
        if strategy != "reduce_generation":
            raise UsageError(f"server.context_limit_retry_strategy must be reduce_generation, not '{strategy}'")
        if not (cfg.soft_fail or cfg.server.enable_soft_fail):
            raise UsageError("server.context_limit_retry_strategy needs ++server.enable_soft_fail=True (as in the reference)")
    if cfg.server.enable_soft_fail:
        cfg.soft_fail = True
    if cfg.enable_litellm_cache:
        log("enable_litellm_cache: finished requests are kept by the resume journal (<output>-async); "
            "no separate cache is needed")
    if cfg.start_assistant_response_key and cfg.prompt_format == "ns" and cfg.inference.endpoint_type != "text":
        raise UsageError("start_assistant_response_key needs ++inference.endpoint_type=text (a chat request has no "
                         "assistant text to start; the reference refuses it too)")
    check_openai_reasoning(cfg)
    if cfg.tool_modules is not None or cfg.tool_overrides:
        from skills.inference.tools import check_tool_settings

        check_tool_settings(cfg)
    if cfg.inference.endpoint_type == "text" and cfg.inference.tokens_to_generate is None:
        raise UsageError("inference.endpoint_type=text needs ++inference.tokens_to_generate")
    if cfg.use_completions_api:
        raise UsageError("use_completions_api is deprecated; use ++inference.endpoint_type=text")
    check_code_execution(cfg)
    if (cfg.num_chunks is None) != (cfg.chunk_id is None):
        raise UsageError("++num_chunks and ++chunk_id must be given together")
    if cfg.num_chunks is not None and not (cfg.num_chunks >= 1 and 0 <= cfg.chunk_id < cfg.num_chunks):
        raise UsageError(f"chunk_id must be in [0, num_chunks) (got {cfg.chunk_id} of {cfg.num_chunks})")
    if cfg.max_concurrent_requests < 1:
        raise UsageError("max_concurrent_requests must be >= 1")
    if not cfg.output_file and not cfg.dry_run:
        raise UsageError("++output_file=PATH is required")
    if cfg.chat_template_kwargs and cfg.inference.endpoint_type != "text":
        if "chat_template_kwargs" in (cfg.inference.extra_body or {}):
            raise UsageError("chat_template_kwargs given both directly and in inference.extra_body")
        cfg.inference.extra_body = {**cfg.inference.extra_body,
                                    "chat_template_kwargs": dict(cfg.chat_template_kwargs)}
    if cfg.parallel_thinking.mode is not None:
        from skills.inference.parallel_thinking import check as check_parallel_thinking

        check_parallel_thinking(cfg)
    if cfg.eval_type:
        from skills.evaluation import check_config as check_eval_config

        check_eval_config(cfg.eval_type, cfg.eval_config)
    if cfg.prompt_format == "ns" and cfg.prompt_config:
        from skills.inference.prompts import load_prompt_config

        load_prompt_config(cfg.prompt_config, cfg.examples_type, cfg.few_shot_examples, cfg.prompt_set_dir,
                           cfg.data_dir, cfg.code_tags, cfg.prompt_source)


def check_code_execution(cfg: GenerateConfig) -> None:
    """``++code_execution=True`` and its settings (``total_code_executions_in_prompt`` applies without it)."""
    total = cfg.total_code_executions_in_prompt
    if total is not None:
        ok = (isinstance(total, int) and not isinstance(total, bool)) or (
            isinstance(total, (list, tuple)) and len(total) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in total) and total[0] <= total[1])
        if not ok:
            raise UsageError(f"total_code_executions_in_prompt must be a whole number or [min, max], got {total!r}")
    if not cfg.code_execution:
        return
    ce = cfg.server.code_execution
    if not cfg.code_tags:
        raise UsageError("code_execution needs ++code_tags=NAME (the markers of code blocks and their output, "
                         "e.g. ++code_tags=openmath)")
    if cfg.prompt_format != "ns":
        raise UsageError("code_execution needs prompt_format=ns (the code markers come with ++code_tags)")
    if ce.code_execution_language not in ("ipython", "python"):
        raise UsageError(f"server.code_execution.code_execution_language must be ipython or python, "
                         f"not '{ce.code_execution_language}'")
    modes = ("plain", "context", "verbose", "minimal")
    if ce.sandbox_traceback_verbosity.lower() not in modes:
        raise UsageError(f"server.code_execution.sandbox_traceback_verbosity must be one of {', '.join(modes)}, "
                         f"not '{ce.sandbox_traceback_verbosity}'")
    if ce.code_execution_language != "ipython" and ce.sandbox_traceback_verbosity.lower() != "plain":
        raise UsageError("server.code_execution.sandbox_traceback_verbosity applies to ipython only; leave it plain")
    if ce.max_code_executions < 0:
        raise UsageError(f"server.code_execution.max_code_executions must be >= 0, got {ce.max_code_executions}")
    if ce.max_code_output_characters < 0:
        raise UsageError("server.code_execution.max_code_output_characters must be >= 0")
    _finite("server.code_execution.code_execution_timeout", ce.code_execution_timeout, 0.0)
    if ce.code_execution_timeout <= 0:
        raise UsageError("server.code_execution.code_execution_timeout must be > 0")
    if cfg.override_max_code_executions and total is None:
        log("override_max_code_executions has no effect without total_code_executions_in_prompt")


def check_openai_reasoning(cfg: GenerateConfig) -> None:
    """The OpenAI API's o-series / gpt-5 models take no sampling settings: the reference refuses
    non-default ones rather than drop them, and so do we (a run must not look sampled when it is not)."""
    from skills.inference.request_body import is_openai_reasoning_model

    if cfg.server.server_type != "openai" or not is_openai_reasoning_model(cfg.server.model):
        return
    inf = cfg.inference
    for key, value, default in (("temperature", inf.temperature, 0.0), ("top_p", inf.top_p, 0.95),
                                ("repetition_penalty", inf.repetition_penalty, 1.0),
                                ("top_logprobs", inf.top_logprobs, None)):
        if value != default:
            raise UsageError(f"inference.{key}={value}: {cfg.server.model} is an OpenAI reasoning model, which takes "
                             f"no {key} (leave it at {default}, as the reference requires)")


def _finite(name: str, value: Any, low: Optional[float] = None, high: Optional[float] = None) -> None:
    """A number in [low, high]: NaN or infinity would be sent as null (the server's default) or refused."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f">= {low:g}" if high is None else f"between {low:g} and {high:g}"
        raise UsageError(f"{name} must be {bounds}, got {value!r}")


URL_SCHEME = re.compile(r"^https?://[^/\s?#]+", re.IGNORECASE)


def check_url(value: Optional[str], what: str) -> None:
    """``http(s)://host...``: without a scheme a client would poll a URL that can never answer."""
    if value in (None, "", "None") or "${" in str(value):  # unset, or read from the environment
        return
    urls = [u.strip() for u in str(value).split(",")]  # several: replicas or a list of endpoints
    if len(urls) > 1 and not all(urls):
        raise UsageError(f"{what} {mask_url(value)!r} has an empty entry in its comma-separated list")
    if len(set(urls)) < len(urls):
        raise UsageError(f"{what} {mask_url(value)!r} names an endpoint twice")
    for url in urls:
        if not URL_SCHEME.match(url):
            raise UsageError(f"{what} {mask_url(url)!r} is not an http(s) URL (write e.g. http://{url}"
                             f"{'' if '/v1' in url else '/v1'})")


def check_values(cfg: GenerateConfig) -> None:
    """Numbers and URLs a server would misread (NaN goes out as null) or never answer."""
    inf = cfg.inference
    _finite("inference.temperature", inf.temperature, 0.0)
    _finite("inference.top_p", inf.top_p, 0.0, 1.0)
    _finite("inference.min_p", inf.min_p, 0.0, 1.0)
    _finite("inference.repetition_penalty", inf.repetition_penalty, 0.0)
    _finite("inference.timeout", inf.timeout, 0.0)
    if inf.tokens_to_generate is not None and inf.tokens_to_generate < 1:
        raise UsageError(f"inference.tokens_to_generate must be >= 1 (or null: the server's limit), "
                         f"got {inf.tokens_to_generate}")
    if inf.top_logprobs is not None and inf.top_logprobs < 0:
        raise UsageError(f"inference.top_logprobs must be >= 0, got {inf.top_logprobs}")
    server = cfg.server
    for name in ("retry_base_delay_s", "retry_max_delay_s", "retry_after_max_s", "wait_for_server_s"):
        _finite(f"server.{name}", getattr(server, name), 0.0)
    if server.max_retries < 0:
        raise UsageError(f"server.max_retries must be >= 0, got {server.max_retries}")
    if server.initial_concurrency is not None and server.initial_concurrency < 1:
        raise UsageError(f"server.initial_concurrency must be >= 1 (or null: by server type), "
                         f"got {server.initial_concurrency}")
    if server.latency_tolerance is not None and server.latency_tolerance != 0:
        _finite("server.latency_tolerance", server.latency_tolerance, 1.0)
    check_url(server.base_url, "server.base_url")


def input_path(cfg: GenerateConfig) -> Path:
    if cfg.input_file:
        return Path(cfg.input_file)
    if cfg.benchmark:
        if cfg.data_dir:
            data_dir = Path(cfg.data_dir)
        else:
            from skills.data import default_data_dir

            data_dir = default_data_dir()
        return data_dir / cfg.benchmark / f"{cfg.split or 'test'}.jsonl"
    raise UsageError("give ++input_file=FILE or ++benchmark=NAME ++data_dir=DIR")


def iter_input(path: Path, prompt_format: str = "openai") -> Iterator[Tuple[int, Dict[str, Any]]]:
    """(line number, row) for every non-blank line, read as they are asked for; a bad line ->
    UsageError naming it. A bare JSON array line is a message list only with ``prompt_format=openai``."""
    if not path.is_file():
        raise UsageError(f"input file not found: {path}")
    from skills.data.io import iter_jsonl

    for lineno, row in iter_jsonl(path):
        if isinstance(row, list) and prompt_format == "openai":
            row = {"messages": row}
        if not isinstance(row, dict):
            kind = "a JSON array" if isinstance(row, list) else type(row).__name__
            raise UsageError(f"{path}:{lineno}: expected a JSON object (one problem per line), got {kind}")
        yield lineno, row


def no_rows(path: Path) -> UsageError:
    return UsageError(f"input file {path} has no rows; nothing to generate")


def read_input(path: Path, prompt_format: str = "openai") -> List[Tuple[int, Dict[str, Any]]]:
    """Every (line number, row) of ``iter_input``; an input without rows is a UsageError."""
    rows = list(iter_input(path, prompt_format))
    if not rows:
        raise no_rows(path)
    return rows
