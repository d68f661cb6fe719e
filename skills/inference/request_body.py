"""What one call to an OpenAI-compatible endpoint sends: where (base URL, key) and the request body
for the server type and endpoint (chat, text completions, the Responses API), as the reference sends it.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from skills.config.errors import UsageError

VLLM_LIKE = {"vllm", "sglang", "trtllm"}


def resolve_base_url(server: Any) -> str:
    """``server.base_url`` or ``http://host:port/v1``; trailing slash removed (a list: each URL)."""
    return ",".join(resolve_base_urls(server))


def resolve_base_urls(server: Any) -> List[str]:
    """The endpoints of ``server.base_url`` (several comma-separated: replicas or a list of addresses),
    or ``http://host:port/v1``; trailing slashes removed."""
    url = server.base_url
    if url in (None, "", "None"):
        v1 = getattr(server, "use_v1_endpoint", True) and server.server_type != "megatron"  # Megatron: no /v1
        url = f"http://{server.host}:{server.port}" + ("/v1" if v1 else "")
    return [u.strip().rstrip("/") for u in str(url).split(",") if u.strip()]


def resolve_api_key(server: Any) -> Optional[str]:
    """Explicit key > named env var (must be set) > OPENAI_API_KEY for the OpenAI API > none."""
    if server.api_key:
        return server.api_key
    if server.api_key_env_var:
        value = os.environ.get(server.api_key_env_var)
        if not value:
            raise UsageError(f"server.api_key_env_var names {server.api_key_env_var}, which is not set")
        return value
    if server.server_type == "openai" and "api.openai.com" in (server.base_url or ""):
        value = os.environ.get("OPENAI_API_KEY")
        if not value:
            raise UsageError("OPENAI_API_KEY is not set (needed for api.openai.com)")
        return value
    return None


def is_openai_reasoning_model(model: Optional[str]) -> bool:
    name = (model or "").split("/")[-1]
    return "gpt-5" in name or (len(name) > 1 and name[0] == "o" and name[1].isdigit())


def build_request(cfg: Any, messages: Optional[List[dict]] = None, prompt: Optional[str] = None,
                  **fields: Any) -> tuple:
    """(path, body) for one call. vLLM-family extras only go to vLLM-family servers; ``fields``
    (per-row ``tools``, ``tool_choice``, ...) are added last."""
    inf = cfg.inference
    server_type = cfg.server.server_type
    chat = messages is not None
    reasoning_api = server_type == "openai" and is_openai_reasoning_model(cfg.server.model)
    responses = chat and getattr(inf, "endpoint_type", "chat") == "responses"
    body: Dict[str, Any] = {"model": cfg.server.model}
    if chat:
        path = "/responses" if responses else "/chat/completions"
        if reasoning_api:  # o-series / gpt-5 take instructions as a "developer" message, as the reference sends
            messages = [{**m, "role": "developer"} if m.get("role") == "system" else m for m in messages]
        body["messages"] = messages
    else:
        path = "/completions"
        body["prompt"] = prompt
    body.update(_sampling(inf, server_type, reasoning_api, chat))
    if cfg.tools:
        body["tools"] = list(cfg.tools)
    body.update(_server_extras(inf, server_type, chat))
    if responses:
        _to_responses_api(body, server_type)
    body.update(dict(inf.extra_body or {}))
    body.update(fields)
    return path, body


def _sampling(inf: Any, server_type: str, reasoning_api: bool, chat: bool) -> Dict[str, Any]:
    """Sampling and length fields every OpenAI-compatible server takes (in the reference's order)."""
    body: Dict[str, Any] = {}
    if not reasoning_api:
        body["temperature"] = inf.temperature  # o-series / gpt-5 reject any sampling field
        body["top_p"] = inf.top_p
    presence = getattr(inf, "presence_penalty", None)
    if presence is not None:
        body["presence_penalty"] = presence
    elif server_type == "openai" and not reasoning_api:  # the reference's OpenAI client sends it so
        body["presence_penalty"] = inf.repetition_penalty
    if inf.random_seed is not None:  # None: no seed field (e.g. GenSynthesis's request, as the reference's)
        body["seed"] = inf.random_seed
    if inf.tokens_to_generate is not None:
        key = "max_completion_tokens" if server_type == "openai" and chat else "max_tokens"
        body[key] = inf.tokens_to_generate
    if inf.stop:
        body["stop"] = list(inf.stop)
    if inf.top_logprobs is not None:
        if chat:
            body["logprobs"] = True
            body["top_logprobs"] = inf.top_logprobs
        else:
            body["logprobs"] = inf.top_logprobs
    if inf.reasoning_effort:
        body["reasoning_effort"] = inf.reasoning_effort
    return body


def _server_extras(inf: Any, server_type: str, chat: bool) -> Dict[str, Any]:
    """vLLM-family sampling fields; other servers refuse top_k/min_p rather than silently drop them."""
    if server_type not in VLLM_LIKE:
        if inf.top_k > 0 or inf.min_p > 0:
            raise UsageError(f"top_k/min_p are not supported by server_type={server_type}")
        return {}
    body: Dict[str, Any] = {}
    if inf.top_k > 0:
        body["top_k"] = inf.top_k
    body["min_p"] = inf.min_p
    body["repetition_penalty"] = inf.repetition_penalty
    body["spaces_between_special_tokens"] = False
    if not chat:
        body["skip_special_tokens"] = False
    return body


def _to_responses_api(body: Dict[str, Any], server_type: str) -> None:
    """The Responses API: same settings, its own field names."""
    body["input"] = body.pop("messages")
    for key in ("max_tokens", "max_completion_tokens"):
        if key in body:
            body["max_output_tokens"] = body.pop(key)
    if server_type not in VLLM_LIKE:
        body.pop("seed", None)
