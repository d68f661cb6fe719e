"""Async OpenAI-compatible client: one pooled connection set, bounded concurrency, retries.

Why aiohttp and not httpx: against the 50 ms stub at concurrency 512, httpx 0.27 spent ~7 ms of
client CPU per request (~140 req/s on 2 cores) while aiohttp spends ~0.2 ms (see
``tests/perf/bench_client.py`` and docs/generation.md). Evaluations send tens of thousands of
requests, so the client must never be the bottleneck.

Retries (connection errors, timeouts, 429, 5xx) use exponential backoff with full jitter, and a
server's ``Retry-After`` is honoured. The API key is read from the environment at start-up and only
ever placed in the ``Authorization`` header: it is never logged or written.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from skills.config.errors import UsageError
from skills.config.secrets import has_userinfo, mask_url

import json

try:  # orjson is optional; it is several times faster for the large bodies of long generations
    import orjson
except ImportError:  # pragma: no cover
    orjson = None


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON; falls back to the stdlib for what orjson refuses (huge ints)."""
    if orjson is not None:
        try:
            return orjson.dumps(obj)
        except TypeError:
            pass
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def loads(data: Any) -> Any:
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # re-parse with the stdlib: accepts huge ints / NaN, else raises ValueError
    return json.loads(data)

VLLM_LIKE = {"vllm", "sglang", "trtllm"}
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class GenerationError(RuntimeError):
    """A request failed for good (non-retryable status, or retries exhausted)."""


class ServerUnavailable(RuntimeError):
    """The server never answered ``GET /models`` within the wait limit."""


@dataclass
class ClientSettings:
    """Everything the transport needs; built from GenerateConfig by ``settings_from_config``."""

    base_url: str
    model: Optional[str]
    server_type: str = "vllm"
    api_key: Optional[str] = None
    max_concurrent: int = 512
    timeout: Optional[float] = 14400.0  # None: no limit
    max_retries: int = 8
    retry_base_delay_s: float = 0.25
    retry_max_delay_s: float = 30.0
    retry_after_max_s: float = 600.0  # a server's Retry-After is honoured exactly, up to this
    wait_for_server_s: float = 3600.0
    poll_interval_s: float = 1.0


@dataclass
class Completion:
    """Parsed answer of one request (fields named as in the output lines)."""

    text: str
    num_generated_tokens: Optional[int] = None
    finish_reason: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)  # reasoning_content, tool_calls, ...


def resolve_base_url(server: Any) -> str:
    """``server.base_url`` or ``http://host:port/v1``; trailing slash removed."""
    url = server.base_url
    if url in (None, "", "None"):
        v1 = getattr(server, "use_v1_endpoint", True) and server.server_type != "megatron"  # Megatron: no /v1
        url = f"http://{server.host}:{server.port}" + ("/v1" if v1 else "")
    return url.rstrip("/")


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
    body: Dict[str, Any] = {"model": cfg.server.model}
    reasoning_api = server_type == "openai" and is_openai_reasoning_model(cfg.server.model)
    responses = messages is not None and getattr(inf, "endpoint_type", "chat") == "responses"
    if messages is not None:
        path = "/responses" if responses else "/chat/completions"
        if reasoning_api:  # o-series / gpt-5 take instructions as a "developer" message, as the reference sends
            messages = [{**m, "role": "developer"} if m.get("role") == "system" else m for m in messages]
        body["messages"] = messages
    else:
        path = "/completions"
        body["prompt"] = prompt
    if not reasoning_api:
        body["temperature"] = inf.temperature  # o-series / gpt-5 reject any sampling field
        body["top_p"] = inf.top_p
    presence = getattr(inf, "presence_penalty", None)
    if presence is not None:
        body["presence_penalty"] = presence
    elif server_type == "openai" and not reasoning_api:  # the reference's OpenAI client sends it so
        body["presence_penalty"] = inf.repetition_penalty
    body["seed"] = inf.random_seed
    if inf.tokens_to_generate is not None:
        key = "max_completion_tokens" if server_type == "openai" and messages is not None else "max_tokens"
        body[key] = inf.tokens_to_generate
    if inf.stop:
        body["stop"] = list(inf.stop)
    if inf.top_logprobs is not None:
        if messages is not None:
            body["logprobs"] = True
            body["top_logprobs"] = inf.top_logprobs
        else:
            body["logprobs"] = inf.top_logprobs
    if inf.reasoning_effort:
        body["reasoning_effort"] = inf.reasoning_effort
    if cfg.tools:
        body["tools"] = list(cfg.tools)
    if server_type in VLLM_LIKE:
        if inf.top_k > 0:
            body["top_k"] = inf.top_k
        body["min_p"] = inf.min_p
        body["repetition_penalty"] = inf.repetition_penalty
        body["spaces_between_special_tokens"] = False
        if messages is None:
            body["skip_special_tokens"] = False
    else:
        if inf.top_k > 0 or inf.min_p > 0:
            raise UsageError(f"top_k/min_p are not supported by server_type={server_type}")
    if responses:  # the Responses API: same settings, its own field names
        body["input"] = body.pop("messages")
        for key in ("max_tokens", "max_completion_tokens"):
            if key in body:
                body["max_output_tokens"] = body.pop(key)
        if server_type not in VLLM_LIKE:
            body.pop("seed", None)
    body.update(dict(inf.extra_body or {}))
    body.update(fields)
    return path, body


_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def printable(text: str, limit: int = 1000) -> str:
    """A server's text made safe for a terminal or a log: escape sequences and control characters
    removed (a hostile body must not move the cursor, retitle the window or hide lines), newlines
    kept as spaces, then cut to ``limit`` characters."""
    text = _CONTROL.sub("", text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    return text if len(text) <= limit else text[:limit] + "..."


def _brief(value: Any, limit: int = 300) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return printable(text, limit)


def completion_problem(data: Any, path: str) -> Optional[str]:
    """Why a 200 answer to ``path`` carries no completion (None if it does).

    Gateways and proxies send errors with status 200 (``{"error": ...}``, ``{}``, empty or null
    ``choices``, a null ``message``); treating those as an empty answer would grade every row
    "no answer" and report 0% with exit 0, so they are retried like a 5xx and then fail the row."""
    if not isinstance(data, dict):
        return f"the body is not a JSON object: {_brief(data)}"
    if data.get("error"):
        return f"error: {_brief(data['error'])}"
    if not isinstance(data.get("usage"), (dict, type(None))):
        return f"'usage' is not an object: {_brief(data)}"
    if path.endswith("/responses"):
        output = data.get("output")
        if not isinstance(output, list) or not all(isinstance(item, dict) for item in output):
            return f"no 'output' list: {_brief(data)}"
        return None
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        return f"no 'choices': {_brief(data)}"
    choice = choices[0]
    if not isinstance(choice, dict):
        return f"'choices[0]' is not an object: {_brief(data)}"
    if path.endswith("/chat/completions"):
        msg = choice.get("message")
        if not isinstance(msg, dict):
            return f"'choices[0].message' is {'missing' if msg is None else 'not an object'}: {_brief(data)}"
        content = msg.get("content")
        if not isinstance(content, (str, list, type(None))):
            return f"'message.content' is neither text nor a list of parts: {_brief(data)}"
        if content is None and not (msg.get("tool_calls") or msg.get("reasoning_content") or msg.get("reasoning")):
            return f"the message has no content: {_brief(data)}"
        return None
    if path.endswith("/completions") and not isinstance(choice.get("text"), str):
        return f"'choices[0].text' is not text: {_brief(data)}"
    return None


def _text(content: Any) -> str:
    """``content`` as text: a string, or OpenAI content parts (``[{"type": "text", "text": ...}]``) joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p if isinstance(p, str) else p.get("text") if isinstance(p, dict) else None for p in content]
        return "".join(p for p in parts if isinstance(p, str))
    return ""


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_responses_api(data: dict) -> Completion:
    """A Responses API answer: message texts joined, reasoning texts kept, function calls as tool calls."""
    text, reasoning, calls = "", [], []
    for item in data.get("output") or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        content = item.get("content")
        parts = [c.get("text") for c in content if isinstance(c, dict) and isinstance(c.get("text"), str)] \
            if isinstance(content, list) else []
        if kind == "message":
            text += "".join(parts)
        elif kind == "reasoning":
            reasoning.extend(parts)
        elif kind == "function_call":
            calls.append(item)
    usage = _dict(data.get("usage"))
    extra: Dict[str, Any] = {}
    if reasoning:
        extra["reasoning_content"] = "\n".join(reasoning).strip()
    if calls:
        extra["tool_calls"], text = calls, ""
    details = _dict(usage.get("output_tokens_details"))
    output_tokens, reasoning_tokens = _int(usage.get("output_tokens")), _int(details.get("reasoning_tokens"))
    if reasoning_tokens is not None and output_tokens is not None:
        extra["num_reasoning_tokens"] = reasoning_tokens
        extra["num_answer_tokens"] = output_tokens - reasoning_tokens
    status = data.get("status")
    return Completion(text, output_tokens, status if isinstance(status, str) else None, extra)


def parse_response(data: dict, chat: bool) -> Completion:
    """Pick the fields graders and metrics read from an OpenAI-style response (fields of the wrong
    type count as absent: ``completion_problem`` has already refused bodies without a completion)."""
    data = _dict(data)
    if "output" in data and "choices" not in data:
        return parse_responses_api(data)
    choices = data.get("choices")
    choice = _dict(choices[0] if isinstance(choices, list) and choices else None)
    usage = _dict(data.get("usage"))
    extra: Dict[str, Any] = {}
    if chat:
        msg = _dict(choice.get("message"))
        text = _text(msg.get("content"))
        reasoning = msg.get("reasoning_content") or msg.get("reasoning")
        if reasoning:
            extra["reasoning_content"] = reasoning if isinstance(reasoning, str) else _text(reasoning)
        if msg.get("tool_calls"):
            extra["tool_calls"] = msg["tool_calls"]
    else:
        text = _text(choice.get("text"))
        stop = choice.get("stop_reason") or choice.get("matched_stop")
        if isinstance(stop, str) and choice.get("finish_reason") == "stop":
            text += stop  # vLLM/sglang strip the matched stop string from text completions
    details = _dict(usage.get("completion_tokens_details"))
    completion_tokens, reasoning_tokens = _int(usage.get("completion_tokens")), _int(details.get("reasoning_tokens"))
    if reasoning_tokens is not None and completion_tokens is not None:
        extra["num_reasoning_tokens"] = reasoning_tokens
        extra["num_answer_tokens"] = completion_tokens - reasoning_tokens
    if choice.get("logprobs") is not None:
        extra["logprobs"] = choice["logprobs"]
    finish = choice.get("finish_reason")
    return Completion(text, completion_tokens, finish if isinstance(finish, str) else None, extra)


def retry_after_s(value: Optional[str]) -> Optional[float]:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Client:
    """One aiohttp session shared by all requests; use as ``async with Client(settings) as c``.

    At most ``max_concurrent`` requests are on the wire at once. A request waiting to be retried
    does not hold its slot: under a stream of 503/429/dropped connections the other requests keep
    the server busy, instead of every slot sleeping through a backoff."""

    def __init__(self, settings: ClientSettings):
        self.s = settings
        self.session = None
        self.slots = asyncio.Semaphore(max(1, settings.max_concurrent))
        self.retried: Dict[str, int] = {}  # reason -> retried attempts, for the summary line

    @property
    def retries(self) -> int:
        return sum(self.retried.values())

    def retry_summary(self) -> str:
        return ", ".join(f"{n} x {reason}" for reason, n in sorted(self.retried.items(), key=lambda kv: -kv[1]))

    async def __aenter__(self) -> "Client":
        import aiohttp

        headers = {"Content-Type": "application/json"}
        if self.s.api_key:
            headers["Authorization"] = f"Bearer {self.s.api_key}"
        connector = aiohttp.TCPConnector(limit=self.s.max_concurrent, ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(
            connector=connector, headers=headers, trust_env=True,
            timeout=aiohttp.ClientTimeout(total=self.s.timeout),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.close()

    async def wait_for_server(self, on_wait: Optional[Callable[[], Any]] = None) -> None:
        """Poll ``GET <base_url>/models`` until the server answers (any non-5xx status);
        ``on_wait`` is called once if it does not answer the first time (to say we wait)."""
        import aiohttp

        deadline = time.monotonic() + self.s.wait_for_server_s
        last = "no answer"
        while True:
            try:
                async with self.session.get(f"{self.s.base_url}/models",
                                            timeout=aiohttp.ClientTimeout(total=10)) as resp:
                    if resp.status < 500:
                        return
                    last = f"HTTP {resp.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                last = type(exc).__name__ + (f": {exc}" if str(exc) else "")
            if time.monotonic() >= deadline:
                raise ServerUnavailable(
                    f"server at {mask_url(self.s.base_url)} did not answer GET /models within "
                    f"{self.s.wait_for_server_s:g}s (last: {last})")
            if on_wait is not None:
                on_wait()
                on_wait = None
            await asyncio.sleep(self.s.poll_interval_s)

    def _delay(self, attempt: int, hint: Optional[float]) -> float:
        """Retry-After exactly when the server sends one; else capped exponential backoff, full jitter."""
        if hint is not None:
            return min(hint, self.s.retry_after_max_s)
        cap = min(self.s.retry_max_delay_s, self.s.retry_base_delay_s * (2 ** attempt))
        return random.uniform(0, cap)

    async def _attempt(self, url: str, payload: bytes) -> tuple:
        """One HTTP attempt holding a slot: (decoded body or None, retryable reason, detail, Retry-After)."""
        import aiohttp

        async with self.slots:
            try:
                async with self.session.post(url, data=payload) as resp:
                    raw = await resp.read()
                    if resp.status == 200:
                        try:
                            data = loads(raw)
                        except ValueError:  # a proxy or a crashing server: retry like a 5xx
                            return None, "malformed body", \
                                f"HTTP 200 with malformed JSON: {printable(repr(raw[:200]))}", None
                        problem = completion_problem(data, url)
                        if problem is not None:  # a gateway's error sent as 200: retry like a 5xx
                            return None, "HTTP 200 without a completion", \
                                f"HTTP 200 without a completion ({problem})", None
                        return data, None, "", None
                    detail = printable(raw[:1000].decode("utf-8", "replace"))
                    if resp.status not in RETRY_STATUS:
                        raise GenerationError(f"HTTP {resp.status} from {mask_url(url)}: {detail}")
                    return None, f"HTTP {resp.status}", f"HTTP {resp.status}: {detail}", \
                        retry_after_s(resp.headers.get("Retry-After"))
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError) as exc:
                return None, type(exc).__name__, type(exc).__name__ + (f": {exc}" if str(exc) else ""), None

    async def post(self, path: str, body: dict) -> dict:
        """POST JSON with retries; returns the decoded response."""
        payload = dumps(body)
        url = self.s.base_url + path
        attempt = 0
        while True:
            data, reason, error, hint = await self._attempt(url, payload)
            if reason is None:
                return data
            if attempt >= self.s.max_retries:
                raise GenerationError(f"request to {mask_url(url)} failed after {attempt + 1} attempts ({error})")
            self.retried[reason] = self.retried.get(reason, 0) + 1
            await asyncio.sleep(self._delay(attempt, hint))  # without a slot: others go on meanwhile
            attempt += 1

    async def complete(self, cfg: Any, messages: Optional[List[dict]] = None,
                       prompt: Optional[str] = None, **fields: Any) -> Completion:
        path, body = build_request(cfg, messages, prompt, **fields)
        try:
            data = await self.post(path, body)
        except GenerationError as exc:
            from skills.inference.context_retry import reduced_body

            smaller = reduced_body(cfg, body, str(exc))  # reduce_generation: once, with what fits
            if smaller is None:
                raise
            data = await self.post(path, smaller)
        return parse_response(data, chat=messages is not None)


def settings_from_config(cfg: Any) -> ClientSettings:
    server = cfg.server
    base_url, api_key = resolve_base_url(server), resolve_api_key(server)
    if api_key and has_userinfo(base_url):
        raise UsageError(f"server.base_url {mask_url(base_url)} carries user:password@ and an API key is set too; "
                         "an Authorization header holds only one of them: drop one")
    return ClientSettings(
        base_url=base_url, model=server.model, server_type=server.server_type,
        api_key=api_key, max_concurrent=cfg.max_concurrent_requests,
        timeout=cfg.inference.timeout, max_retries=server.max_retries,
        retry_base_delay_s=server.retry_base_delay_s, retry_max_delay_s=server.retry_max_delay_s,
        retry_after_max_s=server.retry_after_max_s,
        wait_for_server_s=server.wait_for_server_s,
    )
