"""Async OpenAI-compatible client: one pooled connection set, bounded concurrency, retries.

Why aiohttp and not httpx: against the 50 ms stub at concurrency 512, httpx 0.27 spent ~7 ms of
client CPU per request (~140 req/s on 2 cores) while aiohttp spends ~0.2 ms (see
``tests/perf/bench_client.py`` and docs/generation.md). Evaluations send tens of thousands of
requests, so the client must never be the bottleneck.

Retries (connection errors, timeouts, 429, 5xx) use exponential backoff with full jitter, and a
server's ``Retry-After`` is honoured. The API key is read from the environment at start-up and only
ever placed in the ``Authorization`` header: it is never logged or written.

Proxies (``HTTP(S)_PROXY``/``NO_PROXY``) and ``.netrc`` credentials are honoured as aiohttp's
``trust_env=True`` does, but looked up once per client: every request goes to the one server, and
aiohttp's own lookup reads the environment and ``.netrc`` again for each request in a worker thread,
which was a third of the client's CPU per request.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from skills.config.errors import UsageError
from skills.config.secrets import has_userinfo, mask_url
from skills.data.io import dumps, loads
from skills.inference.request_body import build_request, resolve_api_key, resolve_base_url
from skills.inference.responses import Completion, completion_problem, parse_response, printable

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


def environment_proxy(url: str) -> tuple:
    """(proxy URL or None, its BasicAuth or None) for requests to ``url``, from ``HTTP(S)_PROXY``
    and ``NO_PROXY``: the lookup aiohttp makes per request under ``trust_env=True``, made once."""
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    try:
        return get_env_proxy_for_url(URL(url))
    except LookupError:  # no proxy for this scheme, or the host is in NO_PROXY
        return None, None


def netrc_auth(url: str) -> Any:
    """``.netrc`` credentials (``$NETRC`` or ``~/.netrc``) for the host of ``url``, or None."""
    from aiohttp.helpers import basicauth_from_netrc, netrc_from_env
    from yarl import URL

    host = URL(url).host
    if host is None:
        return None
    try:
        return basicauth_from_netrc(netrc_from_env(), host)
    except LookupError:
        return None


class Client:
    """One aiohttp session shared by all requests; use as ``async with Client(settings) as c``.

    At most ``max_concurrent`` requests are on the wire at once. A request waiting to be retried
    does not hold its slot: under a stream of 503/429/dropped connections the other requests keep
    the server busy, instead of every slot sleeping through a backoff."""

    def __init__(self, settings: ClientSettings):
        self.s = settings
        self.session = None
        self.via: Dict[str, Any] = {}
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
        elif not has_userinfo(self.s.base_url):  # aiohttp's order: header, URL, then .netrc
            auth = netrc_auth(self.s.base_url)
            if auth is not None:
                headers["Authorization"] = auth.encode()
        proxy, proxy_auth = environment_proxy(self.s.base_url)
        self.via = {"proxy": proxy} if proxy is not None else {}  # every request's proxy arguments
        if proxy_auth is not None:  # in the CONNECT of a tunnel to https, else in each request to the proxy
            if self.s.base_url.lower().startswith("https:"):
                self.via["proxy_headers"] = {"Proxy-Authorization": proxy_auth.encode()}
            else:
                headers["Proxy-Authorization"] = proxy_auth.encode()
        connector = aiohttp.TCPConnector(limit=self.s.max_concurrent, ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(
            connector=connector, headers=headers, trust_env=False,
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
                async with self.session.get(f"{self.s.base_url}/models", **self.via,
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
                async with self.session.post(url, data=payload, **self.via) as resp:
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
