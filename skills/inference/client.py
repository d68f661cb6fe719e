"""Async OpenAI-compatible client: one pooled connection set, bounded concurrency, retries.

Why aiohttp and not httpx: against the 50 ms stub at concurrency 512, httpx 0.27 spent ~7 ms of
client CPU per request (~140 req/s on 2 cores) while aiohttp spends ~0.2 ms (see
``tests/perf/bench_client.py`` and docs/generation.md). Evaluations send tens of thousands of
requests, so the client must never be the bottleneck.

Retries (connection errors, timeouts, 429, 5xx) use exponential backoff with full jitter, and a
server's ``Retry-After`` is honoured. The API key is read from the environment at start-up and only
ever placed in the ``Authorization`` header: it is never logged or written.

Proxies (``HTTP(S)_PROXY``/``NO_PROXY``) and ``.netrc`` credentials are honoured as aiohttp's
``trust_env=True`` does, but looked up once per client and endpoint: aiohttp's own lookup reads the
environment and ``.netrc`` again for each request in a worker thread, which was a third of the
client's CPU per request.

``server.base_url`` may list several endpoints, comma-separated (replicas of one model, or several
addresses): requests are spread over them, least outstanding requests first, each endpoint with an
adaptive concurrency limit of its own (``skills.inference.endpoints``).
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
from skills.inference.endpoints import (DOWN, DROPPED, ERROR, OK, OVERLOAD, TIMEOUT, Concurrency, Endpoint,
                                        EndpointPool, concurrency_settings)
from skills.inference.request_body import build_request, resolve_api_key, resolve_base_urls
from skills.inference.responses import Completion, completion_problem, parse_response, printable

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
OVERLOAD_STATUS = {408, 429, 502, 503, 504}  # the endpoint is saying "too much": its concurrency backs off
FATAL = "fatal"  # a non-retryable answer: says nothing about the endpoint


class GenerationError(RuntimeError):
    """A request failed for good (non-retryable status, or retries exhausted)."""


class ServerUnavailable(RuntimeError):
    """The server never answered ``GET /models`` within the wait limit."""


@dataclass
class ClientSettings:
    """Everything the transport needs; built from GenerateConfig by ``settings_from_config``."""

    base_url: str  # one URL, or several comma-separated
    model: Optional[str]
    server_type: str = "vllm"
    api_key: Optional[str] = None
    max_concurrent: int = 512  # per endpoint: the ceiling of its adaptive limit
    adaptive: Optional[bool] = None  # None: by server type (skills.inference.endpoints)
    initial_concurrency: Optional[int] = None  # None: by server type (skills.inference.endpoints)
    latency_tolerance: Optional[float] = None
    timeout: Optional[float] = 14400.0  # None: no limit
    max_retries: int = 8
    retry_base_delay_s: float = 0.25
    retry_max_delay_s: float = 30.0
    retry_after_max_s: float = 600.0  # a server's Retry-After is honoured exactly, up to this
    wait_for_server_s: float = 3600.0
    poll_interval_s: float = 1.0

    @property
    def urls(self) -> List[str]:
        return [u.strip().rstrip("/") for u in self.base_url.split(",") if u.strip()]


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

    Each endpoint has at most its adaptive limit of requests on the wire (``max_concurrent`` the
    ceiling). A request waiting to be retried does not hold its slot: under a stream of
    503/429/dropped connections the other requests keep the servers busy, instead of every slot
    sleeping through a backoff; it is retried on whichever endpoint has room then."""

    def __init__(self, settings: ClientSettings, say: Optional[Callable[[str], Any]] = None):
        self.s = settings
        self.session = None
        self.say = say or (lambda _: None)
        urls = settings.urls
        if not urls:
            raise UsageError("server.base_url names no endpoint")
        conc = concurrency_settings(settings.server_type, settings.max_concurrent, settings.adaptive,
                                    settings.initial_concurrency, settings.latency_tolerance)
        self.pool = EndpointPool([Endpoint(url=u, label=mask_url(u), conc=Concurrency(conc), index=i)
                                  for i, u in enumerate(urls)], say=self.say)
        self.retried: Dict[str, int] = {}  # reason -> retried attempts, for the summary line

    @property
    def via(self) -> Dict[str, Any]:
        """The first endpoint's per-request arguments (proxy, headers)."""
        return self.pool.endpoints[0].via

    @property
    def retries(self) -> int:
        return sum(self.retried.values())

    def retry_summary(self) -> str:
        return ", ".join(f"{n} x {reason}" for reason, n in sorted(self.retried.items(), key=lambda kv: -kv[1]))

    def _endpoint_headers(self, url: str, proxy_auth: Any) -> Dict[str, str]:
        """Headers one endpoint needs beyond the session's: ``.netrc`` credentials for its host
        (aiohttp's order: API key header, then ``user:password@`` in the URL, then ``.netrc``), and
        the proxy's credentials for plain http."""
        headers: Dict[str, str] = {}
        if not self.s.api_key and not has_userinfo(url):
            auth = netrc_auth(url)
            if auth is not None:
                headers["Authorization"] = auth.encode()
        if proxy_auth is not None and not url.lower().startswith("https:"):
            headers["Proxy-Authorization"] = proxy_auth.encode()
        return headers

    async def __aenter__(self) -> "Client":
        import aiohttp

        headers = {"Content-Type": "application/json"}
        if self.s.api_key:
            headers["Authorization"] = f"Bearer {self.s.api_key}"
        own = []
        for ep in self.pool.endpoints:
            proxy, proxy_auth = environment_proxy(ep.url)
            ep.via = {"proxy": proxy} if proxy is not None else {}  # every request's proxy arguments
            if proxy_auth is not None and ep.url.lower().startswith("https:"):  # in the CONNECT of a tunnel
                ep.via["proxy_headers"] = {"Proxy-Authorization": proxy_auth.encode()}
            own.append(self._endpoint_headers(ep.url, proxy_auth))
        if all(h == own[0] for h in own):  # one server (or alike): in the session's headers
            headers.update(own[0])
        else:
            for ep, h in zip(self.pool.endpoints, own):
                if h:
                    ep.via["headers"] = h
        connector = aiohttp.TCPConnector(limit=self.s.max_concurrent * len(self.pool), ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(
            connector=connector, headers=headers, trust_env=False,
            timeout=aiohttp.ClientTimeout(total=self.s.timeout),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.close()

    async def _answers(self, ep: Endpoint) -> str:
        """"" when ``GET <url>/models`` answers (any non-5xx status), else what went wrong."""
        import aiohttp

        try:
            async with self.session.get(f"{ep.url}/models", **ep.via,
                                        timeout=aiohttp.ClientTimeout(total=10)) as resp:
                return "" if resp.status < 500 else f"HTTP {resp.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            return type(exc).__name__ + (f": {exc}" if str(exc) else "")

    async def wait_for_server(self, on_wait: Optional[Callable[[], Any]] = None) -> None:
        """Poll ``GET <base_url>/models`` until the server answers (any non-5xx status);
        ``on_wait`` is called once if it does not answer the first time (to say we wait).
        With several endpoints, until one answers; those that do not yet are tried again later."""
        deadline = time.monotonic() + self.s.wait_for_server_s
        eps = self.pool.endpoints
        while True:
            last = await asyncio.gather(*(self._answers(ep) for ep in eps))
            if "" in last:
                for ep, problem in zip(eps, last):
                    if problem:
                        self.pool._take_out(ep, time.monotonic(), problem)
                return
            if time.monotonic() >= deadline:
                where = " or ".join(ep.label for ep in eps)
                raise ServerUnavailable(
                    f"server at {where} did not answer GET /models within "
                    f"{self.s.wait_for_server_s:g}s (last: {'; '.join(dict.fromkeys(last))})")
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

    async def _attempt(self, ep: Endpoint, path: str, payload: bytes) -> tuple:
        """One HTTP attempt holding a slot of ``ep``: (decoded body or None, retryable reason, detail,
        Retry-After); the outcome is recorded on the endpoint."""
        import aiohttp

        url = ep.url + path
        epoch = ep.conc.epoch
        t0 = time.monotonic()
        outcome, tokens, hint, why = FATAL, None, None, ""
        try:
            async with self.session.post(url, data=payload, **ep.via) as resp:
                raw = await resp.read()
                if resp.status == 200:
                    try:
                        data = loads(raw)
                    except ValueError:  # a proxy or a crashing server: retry like a 5xx
                        outcome = ERROR
                        return None, "malformed body", \
                            f"HTTP 200 with malformed JSON: {printable(repr(raw[:200]))}", None
                    problem = completion_problem(data, url)
                    if problem is not None:  # a gateway's error sent as 200: retry like a 5xx
                        outcome = ERROR
                        return None, "HTTP 200 without a completion", \
                            f"HTTP 200 without a completion ({problem})", None
                    outcome, tokens = OK, _completion_tokens(data)
                    return data, None, "", None
                detail = printable(raw[:1000].decode("utf-8", "replace"))
                if resp.status not in RETRY_STATUS:
                    raise GenerationError(f"HTTP {resp.status} from {mask_url(url)}: {detail}")
                hint = retry_after_s(resp.headers.get("Retry-After"))
                outcome = OVERLOAD if resp.status in OVERLOAD_STATUS else ERROR
                return None, f"HTTP {resp.status}", f"HTTP {resp.status}: {detail}", hint
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError) as exc:
            why = type(exc).__name__ + (f": {exc}" if str(exc) else "")
            if isinstance(exc, asyncio.TimeoutError):
                outcome = TIMEOUT
            elif len(self.pool) < 2:  # one endpoint: nowhere else to go, plain retries
                outcome = ERROR
            else:
                outcome = DOWN if isinstance(exc, aiohttp.ClientConnectorError) else DROPPED
            return None, type(exc).__name__, why, None
        finally:
            self.pool.finish(ep, outcome, epoch, time.monotonic() - t0, tokens, hint, why)

    async def post(self, path: str, body: dict) -> dict:
        """POST JSON with retries; returns the decoded response."""
        payload = dumps(body)
        attempt = 0
        while True:
            ep = await self.pool.acquire()
            data, reason, error, hint = await self._attempt(ep, path, payload)
            if reason is None:
                return data
            if attempt >= self.s.max_retries:
                where = mask_url(ep.url + path)
                raise GenerationError(f"request to {where} failed after {attempt + 1} attempts ({error})")
            self.retried[reason] = self.retried.get(reason, 0) + 1
            if hint is None and ep.down and self.pool.others_up(ep):
                delay = 0.0  # that endpoint went away: straight to another
            else:
                delay = self._delay(attempt, hint)
            await asyncio.sleep(delay)  # without a slot: others go on meanwhile
            attempt += 1

    def endpoint_summary(self) -> List[str]:
        """One line per endpoint: requests, rate, failed attempts, concurrency."""
        return self.pool.summary()

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


def _completion_tokens(data: Any) -> Optional[int]:
    usage = data.get("usage") if isinstance(data, dict) else None
    n = usage.get("completion_tokens", usage.get("output_tokens")) if isinstance(usage, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def settings_from_config(cfg: Any) -> ClientSettings:
    server = cfg.server
    base_url, api_key = ",".join(resolve_base_urls(server)), resolve_api_key(server)
    if api_key and has_userinfo(base_url):
        raise UsageError(f"server.base_url {mask_url(base_url)} carries user:password@ and an API key is set too; "
                         "an Authorization header holds only one of them: drop one")
    return ClientSettings(
        base_url=base_url, model=server.model, server_type=server.server_type,
        api_key=api_key, max_concurrent=cfg.max_concurrent_requests,
        adaptive=server.adaptive_concurrency, initial_concurrency=server.initial_concurrency,
        latency_tolerance=server.latency_tolerance,
        timeout=cfg.inference.timeout, max_retries=server.max_retries,
        retry_base_delay_s=server.retry_base_delay_s, retry_max_delay_s=server.retry_max_delay_s,
        retry_after_max_s=server.retry_after_max_s,
        wait_for_server_s=server.wait_for_server_s,
    )
