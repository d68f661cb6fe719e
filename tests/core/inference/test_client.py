"""The async client: request bodies per server type, response parsing, retries, server wait."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from skills.config.errors import UsageError
from skills.inference.client import (Client, GenerationError, ServerUnavailable, build_request,
                                     parse_response, resolve_api_key, retry_after_s,
                                     settings_from_config)
from skills.inference.config import GenerateConfig
from tests.helpers.stub_server import StubProcess

MSGS = [{"role": "user", "content": "hi"}]


def cfg(server_type="vllm", base_url=None, **inference) -> GenerateConfig:
    c = GenerateConfig(prompt_config="generic/math", output_file="x")
    c.server.server_type = server_type
    c.server.model = "m"
    c.server.base_url = base_url
    c.server.retry_base_delay_s = 0.01
    c.server.retry_max_delay_s = 0.05
    for k, v in inference.items():
        setattr(c.inference, k, v)
    return c


def test_vllm_request_fields():
    path, body = build_request(cfg(top_k=20, min_p=0.1, tokens_to_generate=100, random_seed=3,
                                   stop=["</s>"], extra_body={"foo": 1}, reasoning_effort="high"), MSGS)
    assert path == "/chat/completions"
    assert body["top_k"] == 20 and body["min_p"] == 0.1 and body["repetition_penalty"] == 1.0
    assert body["max_tokens"] == 100 and body["seed"] == 3 and body["stop"] == ["</s>"]
    assert body["foo"] == 1 and body["reasoning_effort"] == "high" and body["messages"] == MSGS
    _, body = build_request(cfg(), MSGS)
    assert "top_k" not in body and "max_tokens" not in body and "stop" not in body
    path, body = build_request(cfg(tokens_to_generate=5), prompt="text")
    assert path == "/completions" and body["prompt"] == "text"


def test_openai_request_has_no_vllm_fields():
    _, body = build_request(cfg("openai", tokens_to_generate=50), MSGS)
    for key in ("top_k", "min_p", "repetition_penalty", "spaces_between_special_tokens", "max_tokens"):
        assert key not in body
    assert body["max_completion_tokens"] == 50 and body["temperature"] == 0.0
    c = cfg("openai")
    c.server.model = "o3-mini-2025-01-31"
    assert "temperature" not in build_request(c, MSGS)[1]
    with pytest.raises(UsageError):
        build_request(cfg("openai", top_k=5), MSGS)


def test_parse_response_fields():
    data = {"choices": [{"message": {"content": None, "reasoning_content": "thoughts",
                                     "tool_calls": [{"id": "1"}]}, "finish_reason": "length"}],
            "usage": {"completion_tokens": 9, "completion_tokens_details": {"reasoning_tokens": 4}}}
    comp = parse_response(data, chat=True)
    assert comp.text == "" and comp.num_generated_tokens == 9 and comp.finish_reason == "length"
    assert comp.extra == {"reasoning_content": "thoughts", "tool_calls": [{"id": "1"}],
                          "num_reasoning_tokens": 4, "num_answer_tokens": 5}
    text = parse_response({"choices": [{"text": "x = 1", "finish_reason": "stop", "stop_reason": "\n\n"}]}, chat=False)
    assert text.text == "x = 1\n\n"


def test_retry_after_parsing():
    assert retry_after_s("3") == 3.0 and retry_after_s(None) is None and retry_after_s("junk") is None
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_api_key_from_env(monkeypatch):
    c = cfg()
    c.server.api_key_env_var = "SKILLS_TEST_KEY"
    monkeypatch.delenv("SKILLS_TEST_KEY", raising=False)
    with pytest.raises(UsageError, match="SKILLS_TEST_KEY"):
        resolve_api_key(c.server)
    monkeypatch.setenv("SKILLS_TEST_KEY", "sekrit")
    assert resolve_api_key(c.server) == "sekrit"


async def _many(c: GenerateConfig, n: int):
    async with Client(settings_from_config(c)) as client:
        await client.wait_for_server()
        out = await asyncio.gather(*(client.complete(c, [{"role": "user", "content": str(i)}]) for i in range(n)))
        return out, client.retries


def test_retries_on_injected_failures(tmp_path):
    record = tmp_path / "req.jsonl"
    with StubProcess(fail_every=3, fail_kinds="503,429,500,drop", retry_after="0.05",
                     answer="echo {user}", record=record) as stub:
        out, retries = asyncio.run(_many(cfg(base_url=stub.base_url), 40))
    assert sorted(c.text for c in out) == sorted(f"echo {i}" for i in range(40))
    assert retries >= 10
    assert len(record.read_text().splitlines()) == 40  # each prompt answered exactly once


def test_retries_exhausted_and_non_retryable():
    with StubProcess(fail_every=1, fail_kinds="503") as stub:
        c = cfg(base_url=stub.base_url)
        c.server.max_retries = 2
        with pytest.raises(GenerationError, match="after 3 attempts"):
            asyncio.run(_many(c, 1))
        c.server.base_url = stub.base_url + "/nope"  # 404 is not retried
        c.server.max_retries = 50
        with pytest.raises(GenerationError, match="HTTP 404"):
            async def go():
                async with Client(settings_from_config(c)) as client:
                    await client.complete(c, MSGS)
            asyncio.run(go())


def test_waits_for_booting_server():
    with StubProcess(boot_delay=1.5) as stub:
        c = cfg(base_url=stub.base_url)
        out, _ = asyncio.run(_many(c, 2))
    assert len(out) == 2


def test_server_never_up_gives_clear_error():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]  # bound, never listening: connections are refused
    c = cfg(base_url=f"http://127.0.0.1:{port}/v1")
    c.server.wait_for_server_s = 0.5
    s = settings_from_config(c)
    s.poll_interval_s = 0.1

    async def go():
        async with Client(s) as client:
            await client.wait_for_server()

    with pytest.raises(ServerUnavailable, match=f"127.0.0.1:{port}.*GET /models"):
        asyncio.run(go())
    sock.close()


def test_tools_passed_through_and_key_not_in_body(tmp_path, monkeypatch):
    record = tmp_path / "req.jsonl"
    monkeypatch.setenv("SKILLS_TEST_KEY", "sekrit-value")
    tools = [{"type": "function", "function": {"name": "calc", "parameters": {}}}]
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"in_body": '"tools"', "answer": {"content": "", "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": "calc", "arguments": "{}"}}]}}]))
    with StubProcess(record=record, script=script) as stub:
        c = cfg(base_url=stub.base_url)
        c.tools = tools
        c.server.api_key_env_var = "SKILLS_TEST_KEY"
        out, _ = asyncio.run(_many(c, 1))
    assert out[0].extra["tool_calls"][0]["function"]["name"] == "calc"
    sent = json.loads(record.read_text())
    assert sent["body"]["tools"] == tools and "sekrit-value" not in record.read_text()


async def _through(c: GenerateConfig, upstream: str, seen: list, n: int = 3) -> list:
    """``n`` completions while a small forward proxy (recording each request it carries to
    ``upstream``) listens at the address that ``$PROXY_PORT`` stands for in the environment."""
    import os

    from aiohttp import ClientSession, web

    async with ClientSession() as onward:
        async def forward(request: web.Request) -> web.Response:
            seen.append((request.method, str(request.url), request.headers.get("Proxy-Authorization")))
            async with onward.request(request.method, upstream + request.rel_url.path_qs, data=await request.read(),
                                      headers={"Content-Type": "application/json"}) as resp:
                return web.Response(status=resp.status, body=await resp.read(), content_type="application/json")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        for var in ("HTTP_PROXY", "http_proxy"):
            if os.environ.get(var):
                os.environ[var] = os.environ[var].replace("PROXY_PORT", str(port))
        try:
            async with Client(settings_from_config(c)) as client:
                await client.wait_for_server()
                return await asyncio.gather(*(client.complete(c, [{"role": "user", "content": str(i)}])
                                              for i in range(n)))
        finally:
            await runner.cleanup()


def test_requests_go_through_the_environment_proxy(monkeypatch):
    """HTTP_PROXY is honoured (looked up once per client, not per request): the server's host
    does not resolve, so only the proxy can have carried the requests; its credentials go along."""
    for var in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://user:pw@127.0.0.1:PROXY_PORT")
    seen: list = []
    with StubProcess(answer="echo {user}") as stub:
        c = cfg(base_url="http://model-server.invalid:8000/v1")
        c.server.wait_for_server_s = 30
        out = asyncio.run(_through(c, f"http://127.0.0.1:{stub.port}", seen))
    assert sorted(x.text for x in out) == ["echo 0", "echo 1", "echo 2"]
    posts = [s for s in seen if s[0] == "POST"]
    assert len(posts) == 3 and all(url == "http://model-server.invalid:8000/v1/chat/completions"
                                   for _, url, _ in posts)
    assert ("GET", "http://model-server.invalid:8000/v1/models") in [s[:2] for s in seen]
    assert {auth for *_, auth in seen} == {"Basic dXNlcjpwdw=="}  # user:pw


def test_no_proxy_hosts_bypass_the_proxy(monkeypatch):
    for var in ("http_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:PROXY_PORT")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    seen: list = []
    with StubProcess(answer="echo {user}") as stub:
        out = asyncio.run(_through(cfg(base_url=stub.base_url), f"http://127.0.0.1:{stub.port}", seen))
        assert len(out) == 3 and seen == []  # straight to the server
        monkeypatch.setenv("NO_PROXY", "example.org")  # the same server, not exempted: proxied
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:PROXY_PORT")
        out = asyncio.run(_through(cfg(base_url=stub.base_url), f"http://127.0.0.1:{stub.port}", seen))
    assert len(out) == 3 and len([s for s in seen if s[0] == "POST"]) == 3


def test_netrc_credentials_for_the_server(tmp_path, monkeypatch):
    """``.netrc`` is read once per client for the server's host, and only without other credentials."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))

    async def header(c: GenerateConfig):
        async with Client(settings_from_config(c)) as client:
            return client.session.headers.get("Authorization")

    assert asyncio.run(header(cfg(base_url="http://127.0.0.1:9/v1"))) == "Basic YWxpY2U6czNjcmV0"
    assert asyncio.run(header(cfg(base_url="http://other-host:9/v1"))) is None
    c = cfg(base_url="http://127.0.0.1:9/v1")
    c.server.api_key_env_var = "SKILLS_TEST_KEY"
    monkeypatch.setenv("SKILLS_TEST_KEY", "k")
    assert asyncio.run(header(c)) == "Bearer k"


def test_the_proxy_environment_is_read_once_per_client(monkeypatch):
    """Not once per request (aiohttp's trust_env did, in a worker thread: a third of the CPU)."""
    import aiohttp.client
    import aiohttp.helpers

    calls = {"proxy": 0, "netrc": 0}

    def counted(name, real):
        def wrapper(*a, **k):
            calls[name] += 1
            return real(*a, **k)
        return wrapper

    for module in (aiohttp.helpers, aiohttp.client):
        monkeypatch.setattr(module, "get_env_proxy_for_url", counted("proxy", aiohttp.helpers.get_env_proxy_for_url))
        monkeypatch.setattr(module, "netrc_from_env", counted("netrc", aiohttp.helpers.netrc_from_env))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with StubProcess(answer="echo {user}") as stub:
        out, _ = asyncio.run(_many(cfg(base_url=stub.base_url), 20))
    assert len(out) == 20 and calls == {"proxy": 1, "netrc": 1}
