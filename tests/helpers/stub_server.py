"""A canned-answer OpenAI-compatible server for tests and benchmarks (no model, no framework).

Raw asyncio HTTP/1.1 with keep-alive so that it costs far less CPU than the client it is used to
measure. Knobs (command-line flags) inject the failures a real deployment shows: 503/429 with
``Retry-After``, 500, dropped connections, fixed latency, a slow boot (nothing listens yet).

Answers: ``--script FILE`` (JSON), a list of rules; the first rule whose conditions all hold answers a
request, and a request no rule matches gets ``--answer``. A rule's conditions, each optional:
``contains`` (text in the last user message, or in the text prompt), ``in_body`` (text anywhere in
the request body, as JSON), ``seed`` (the request's seed), ``turn`` (how many answers the
conversation already holds: chat ``assistant`` messages, Responses ``function_call_output`` items).
Its answer: ``"answer"``, or ``"answers": [...]`` (the rule's next one each time it matches, then
``(script exhausted)``). An answer is a template (text: ``{user}`` is the last user message or the
text prompt, ``{n}`` the request counter, ``{seed}`` the request's seed) or a message, taken as it is:
``{"content", "tool_calls", "reasoning_content", "finish_reason", "completion_tokens"}`` (all
optional; tokens default to the content's words). For example::

    [{"contains": "2+2", "answer": "So \\boxed{4}."},
     {"in_body": "PROBLEM-A", "answers": [{"content": "```python\\nprint(1)\\n", "completion_tokens": 10},
                                           {"content": "Done."}]},
     {"turn": 0, "answer": {"content": null, "tool_calls": [...]}}]

``--record FILE`` appends every request body as one JSON line so tests can check what was sent. The
chosen port is printed as ``PORT <n>`` on stdout. ``--body TEXT`` answers every completion with that
200 body (a gateway's error, a wrong-shape JSON); ``--error-status`` with ``--error-text`` answers
with that status and body (e.g. terminal escape sequences).

Failure injection is deterministic: every ``--fail-every``-th request fails, cycling through
``--fail-kinds``; retries therefore succeed, as they do against a flaky real server. Or seeded
random failures at given rates (``--fail-rates``), or every request carrying ``--fail-marker``.
Kinds: 503, 429 (with ``Retry-After``), 500, 400, drop (connection closed), malformed (200 + bad JSON).

Overload: ``--capacity N`` is a concurrency the server can take; above it, ``--overload 429`` refuses
each request beyond N in flight at once with 429 (and ``Retry-After``), ``--overload stall`` slows every
request down by (in flight / N) squared (a server thrashing: its throughput falls as the load grows).
``--served FILE`` writes the number of completion requests answered with 200 when the stub stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import List, Optional

SCRIPT = os.path.abspath(__file__)  # run it as a script: python SCRIPT --port N ...
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}


class Stub:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.count = 0
        self.in_flight = 0  # completion requests being answered
        self.served = 0
        self.kinds: List[str] = [k for k in args.fail_kinds.split(",") if k]
        self.record = open(args.record, "a", encoding="utf-8") if args.record else None
        import random

        self.rng = random.Random(args.seed)
        self.script = json.load(open(args.script, encoding="utf-8")) if args.script else []
        self.rates = [(k, float(r)) for k, _, r in (item.partition("=") for item in args.fail_rates.split(",") if item)]
        self.used = [0] * len(self.script)  # per rule: how many of its "answers" were given

    @staticmethod
    def held(path: str, body: dict) -> int:
        """How many answers the conversation already holds (a rule's ``turn``)."""
        if path.endswith("/responses"):
            return sum(1 for m in body.get("input") or [] if m.get("type") == "function_call_output")
        return sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")

    def choose(self, path: str, body: dict, user: str):
        """The answer of the first rule whose conditions all hold, else ``--answer``."""
        raw = json.dumps(body, ensure_ascii=False)
        for i, rule in enumerate(self.script):
            if ("contains" in rule and rule["contains"] not in user) or \
                    ("in_body" in rule and rule["in_body"] not in raw) or \
                    ("seed" in rule and rule["seed"] != body.get("seed")) or \
                    ("turn" in rule and rule["turn"] != self.held(path, body)):
                continue
            if "answers" not in rule:
                return rule["answer"]
            self.used[i] += 1
            return rule["answers"][self.used[i] - 1] if self.used[i] <= len(rule["answers"]) else "(script exhausted)"
        return self.args.answer

    def failure(self, body: bytes = b"") -> Optional[str]:
        if self.args.fail_marker and self.args.fail_marker.encode() in body:
            return self.kinds[0] if self.kinds else "400"
        if self.rates:
            x = self.rng.random()
            for kind, rate in self.rates:
                if x < rate:
                    return kind
                x -= rate
            return None
        if not self.args.fail_every or not self.kinds or self.count % self.args.fail_every:
            return None
        return self.kinds[(self.count // self.args.fail_every) % len(self.kinds)]

    def answer(self, path: str, body: dict) -> dict:
        if "messages" in body or "input" in body:
            users = [m for m in body.get("messages", body.get("input")) if m.get("role") == "user"]
            user = str(users[-1]["content"]) if users else ""
        else:
            user = str(body.get("prompt", ""))
        chosen = self.choose(path, body, user)
        if isinstance(chosen, str):  # a template
            chosen = {"content": chosen.replace("{user}", user).replace("{n}", str(self.count))
                      .replace("{seed}", str(body.get("seed"))).replace("{port}", str(self.args.port))}
        text, calls = chosen.get("content"), chosen.get("tool_calls") or []
        tokens = int(chosen.get("completion_tokens", len((text or "").split())))
        reasoning = chosen.get("reasoning_content") or self.args.reasoning_content
        finish = chosen.get("finish_reason") or ("tool_calls" if calls else self.args.finish_reason)
        if path.endswith("/responses"):  # the Responses API shape
            output = [{"type": "function_call", "call_id": c["id"], "name": c["function"]["name"],
                       "arguments": c["function"]["arguments"]} for c in calls]
            if text or not calls:
                output.insert(0, {"type": "message", "role": "assistant",
                                  "content": [{"type": "output_text", "text": text or ""}]})
            if reasoning:
                output.insert(0, {"type": "reasoning", "content": [{"type": "reasoning_text", "text": reasoning}]})
            return {"id": f"stub-{self.count}", "object": "response", "status": chosen.get("finish_reason", "completed"),
                    "output": output, "usage": {"input_tokens": 10, "output_tokens": tokens}}
        usage = {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": 10 + tokens}
        if path.endswith("/chat/completions"):
            message: dict = {"role": "assistant", "content": text}
            if reasoning:
                message["reasoning_content"] = reasoning
            if calls:
                message["tool_calls"] = calls
            choice = {"index": 0, "message": message, "finish_reason": finish}
            obj = "chat.completion"
        else:
            choice = {"index": 0, "text": text or "", "finish_reason": finish}
            obj = "text_completion"
        return {"id": f"stub-{self.count}", "object": obj, "model": body.get("model"),
                "choices": [choice], "usage": usage}

    async def handle(self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; returns False when the connection must be dropped."""
        if method == "GET" and path.rstrip("/").endswith("/models"):
            return respond(writer, 200, {"object": "list", "data": [{"id": self.args.model, "object": "model"}]})
        if method != "POST" or path not in ("/v1/chat/completions", "/v1/completions", "/v1/responses"):
            return respond(writer, 404, {"error": {"message": f"no route {method} {path}"}})
        self.count += 1
        failure = self.failure(body)
        cap = self.args.capacity
        if cap and self.args.overload == "429" and self.in_flight >= cap:
            headers = {"Retry-After": self.args.retry_after} if self.args.retry_after != "0" else {}
            return respond(writer, 429, {"error": {"message": "too many requests in flight"}}, headers)
        self.in_flight += 1
        try:
            if self.args.latency:
                slow = (self.in_flight / cap) ** 2 if cap and self.args.overload == "stall" else 1.0
                await asyncio.sleep(self.args.latency * max(1.0, slow))
            ok = await self.complete(path, body, failure, writer)
        finally:
            self.in_flight -= 1
        return ok

    async def complete(self, path: str, body: bytes, failure: Optional[str], writer: asyncio.StreamWriter) -> bool:
        if self.args.error_status:
            text = self.args.error_text.encode().decode("unicode_escape").encode("utf-8", "surrogateescape")
            writer.write(f"HTTP/1.1 {self.args.error_status} X\r\nContent-Length: {len(text)}\r\n\r\n".encode() + text)
            return True
        if failure == "drop":
            return False
        if failure == "malformed":  # a 200 whose body is not JSON (a proxy page, a crashed worker)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{not json")
            return True
        if failure in ("503", "429", "500", "400"):
            headers = {"Retry-After": self.args.retry_after} if failure in ("503", "429") else {}
            return respond(writer, int(failure), {"error": {"message": f"injected {failure}"}}, headers)
        try:
            req = json.loads(body)
        except ValueError:
            return respond(writer, 400, {"error": {"message": "invalid JSON"}})
        if self.record:
            self.record.write(json.dumps({"path": path, "body": req}) + "\n")
            self.record.flush()
        if self.args.body is not None:  # a gateway's 200 without a completion, or any canned body
            payload = self.args.body.encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(payload)).encode() + b"\r\n\r\n" + payload)
            return True
        if self.args.max_context:  # vLLM's refusal of prompt + max_tokens beyond the context (prompt = 10 tokens)
            asked = 10 + int(req.get("max_tokens") or req.get("max_completion_tokens") or 0)
            if asked > self.args.max_context:
                return respond(writer, 400, {"object": "error", "type": "BadRequestError", "message": (
                    f"This model's maximum context length is {self.args.max_context} tokens. However, you "
                    f"requested {asked} tokens (10 in the messages, {asked - 10} in the completion).")})
        self.served += 1
        return respond(writer, 200, self.answer(path, req))

    async def serve_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    if line[:15].lower() == "content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length) if length else b""
                if not await self.handle(method, path, body, writer):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


def respond(writer: asyncio.StreamWriter, status: int, obj: dict, headers: Optional[dict] = None) -> bool:
    payload = json.dumps(obj).encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    writer.write(f"HTTP/1.1 {status} {REASONS.get(status, 'X')}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(payload)}\r\n{extra}\r\n".encode() + payload)
    return True


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--model", default="stub-model")
    p.add_argument("--answer", default="The answer is \\boxed{42}.", help="the template answering a request "
                   "no --script rule matches")
    p.add_argument("--reasoning-content", default=None)
    p.add_argument("--script", default=None, help="JSON file: a list of rules {contains?, in_body?, seed?, turn?, "
                   "answer | answers}; the first whose conditions hold answers (else --answer); see the module's doc")
    p.add_argument("--finish-reason", default="stop")
    p.add_argument("--latency", type=float, default=0.0, help="seconds before each completion answer")
    p.add_argument("--boot-delay", type=float, default=0.0, help="seconds before the port starts listening")
    p.add_argument("--fail-every", type=int, default=0, help="every N-th completion request fails")
    p.add_argument("--fail-kinds", default="503,429,500,drop")
    p.add_argument("--retry-after", default="0")
    p.add_argument("--fail-rates", default="", help="random failures instead: 503=0.1,429=0.05,drop=0.05")
    p.add_argument("--fail-marker", default="", help="requests whose body contains this always fail "
                   "(with the first --fail-kinds kind)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num_gpus", type=int, default=0, help="ignored (a generic server's launch line has it)")
    p.add_argument("--num_nodes", type=int, default=1, help="ignored (a generic server's launch line has it)")
    p.add_argument("--capacity", type=int, default=0, help="completion requests it can take at once (0: any)")
    p.add_argument("--overload", choices=("429", "stall"), default="429",
                   help="above --capacity: refuse with 429, or slow every request down (stall)")
    p.add_argument("--served", default=None, help="write the number of 200 completions here on exit")
    p.add_argument("--record", default=None, help="append request bodies to this JSONL file")
    p.add_argument("--max-context", type=int, default=0, help="refuse prompt + max_tokens above this (400)")
    p.add_argument("--body", default=None, help="answer every completion request with this text as a 200 body")
    p.add_argument("--error-status", type=int, default=0, help="answer every completion request with this "
                   "status and --error-text as the body")
    p.add_argument("--error-text", default="", help="body of --error-status answers (escapes: \\x1b ...)")
    return p.parse_args(argv)


async def amain(args: argparse.Namespace) -> None:
    import socket

    # bind first so the port is known before the (simulated) boot finishes
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    if args.boot_delay:
        time.sleep(args.boot_delay)  # connections are refused: listen() not called yet
    stub = Stub(args)
    server = await asyncio.start_server(stub.serve_conn, sock=sock, backlog=4096)
    if args.served:
        import signal

        def stop() -> None:
            with open(args.served, "w") as fh:
                fh.write(str(stub.served))
            server.close()
            raise SystemExit(0)

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop)
    async with server:
        await server.serve_forever()


class StubProcess:
    """Run the stub in a child process (``with StubProcess(latency=0.05) as stub: stub.base_url``)."""

    def __init__(self, **knobs):
        self.knobs = knobs
        self.proc = None
        self.port = 0

    def __enter__(self) -> "StubProcess":
        import subprocess

        cmd = [sys.executable, SCRIPT]
        for key, value in self.knobs.items():
            cmd += [f"--{key.replace('_', '-')}", str(value)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"stub server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def generate_cmd(base_url: str, *overrides: str) -> List[str]:
    """Command line of the generation program pointed at a stub (used by several test files)."""
    return [sys.executable, "-m", "skills.inference.generate", "++server.server_type=vllm",
            f"++server.base_url={base_url}", "++server.model=stub-model",
            "++server.retry_base_delay_s=0.01", "++server.retry_max_delay_s=0.1", *overrides]


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    try:
        import uvloop  # type: ignore

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(amain(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
