"""The sandbox as an HTTP service (``ns start_sandbox``, the ``--with_sandbox`` sidecar).

    python -m skills.sandbox.server --port 6000 [--host 127.0.0.1] [--workers N] [--python PY]

``GET /health`` answers once isolation has been probed; ``POST /execute`` takes the arguments of
``Sandbox.execute`` as JSON (``code``, ``stdin``, ``files``, ``limits``, ``args``, ``env``) and
returns an ``ExecResult``. At most ``workers`` programs run at a time; SIGTERM or SIGINT kills the
ones in flight before the process exits, so stopping the service leaves nothing running.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Optional

from aiohttp import web

from skills.config.errors import UsageError
from skills.sandbox.executor import Sandbox, default_workers
from skills.sandbox.types import Limits

MAX_REQUEST_MB = 256  # a LiveCodeBench problem's tests can be tens of MB, even compressed
# The most a request may ask for; a client cannot pin a worker for hours or fill the disk.
MAX_LIMITS = Limits(cpu_s=600, wall_s=600, memory_mb=65536, max_processes=1024, max_file_mb=1024,
                    max_open_files=4096, max_output_bytes=64 * 1024 * 1024)
_FIELDS = {"code", "stdin", "files", "limits", "args", "env"}


def _decode_files(files: Any) -> Dict[str, Any]:
    if not isinstance(files, dict):
        raise UsageError("'files' must be an object of name -> text or {\"base64\": ...}")
    out: Dict[str, Any] = {}
    for name, value in files.items():
        if isinstance(value, dict) and isinstance(value.get("base64"), str):
            out[name] = base64.b64decode(value["base64"])
        elif isinstance(value, str):
            out[name] = value
        else:
            raise UsageError(f"file {name!r}: expected text or {{\"base64\": ...}}")
    return out


def parse_request(body: Any, ceiling: Limits = MAX_LIMITS) -> Dict[str, Any]:
    """Validated keyword arguments for ``Sandbox.execute``; UsageError names the bad field."""
    if not isinstance(body, dict):
        raise UsageError("request body must be a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise UsageError(f"unknown field(s): {', '.join(unknown)}")
    code = body.get("code")
    if not isinstance(code, str):
        raise UsageError("'code' must be a string")
    stdin = body.get("stdin")
    if stdin is not None and not isinstance(stdin, str):
        raise UsageError("'stdin' must be a string or null")
    args = body.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise UsageError("'args' must be a list of strings")
    env = body.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise UsageError("'env' must be an object of strings")
    limits = Limits.from_dict(body.get("limits"))
    too_high = limits.exceeds(ceiling)
    if too_high:
        raise UsageError(f"limit above this server's maximum: {too_high}")
    return dict(code=code, stdin=stdin, files=_decode_files(body.get("files") or {}), limits=limits,
                args=args, env=env)


def make_app(sandbox: Sandbox, max_request_mb: int = MAX_REQUEST_MB) -> web.Application:
    pool = ThreadPoolExecutor(max_workers=sandbox.workers, thread_name_prefix="sandbox")
    busy = {"n": 0}

    async def health(_request: web.Request) -> web.Response:
        iso = sandbox.isolation()
        return web.json_response({
            "status": "ok", "workers": sandbox.workers, "busy": busy["n"], "isolation": iso.mode,
            "network_isolated": iso.network, "fs_isolated": iso.filesystem, "pid_isolated": iso.pids})

    async def execute(request: web.Request) -> web.Response:
        try:
            kwargs = parse_request(await request.json())
        except ValueError:
            return web.json_response({"error": "request body is not valid JSON"}, status=400)
        except UsageError as exc:
            return web.json_response({"error": exc.message}, status=400)
        busy["n"] += 1
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                pool, lambda: sandbox.execute(kwargs.pop("code"), **kwargs))
        except UsageError as exc:
            return web.json_response({"error": exc.message}, status=400)
        finally:
            busy["n"] -= 1
        return web.json_response(result.to_dict())

    async def stop(_app: web.Application) -> None:
        sandbox.close()
        pool.shutdown(wait=False, cancel_futures=True)

    app = web.Application(client_max_size=max_request_mb * 1024 * 1024)
    app.router.add_get("/health", health)
    app.router.add_post("/execute", execute)
    app.on_shutdown.append(stop)
    return app


async def serve(sandbox: Sandbox, host: str, port: int, max_request_mb: int = MAX_REQUEST_MB) -> None:
    iso = await asyncio.get_running_loop().run_in_executor(None, sandbox.isolation)
    runner = web.AppRunner(make_app(sandbox, max_request_mb), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"sandbox: serving on http://{host}:{port} with {sandbox.workers} workers, isolation "
          f"{iso.mode} (network {iso.network}, filesystem {iso.filesystem}, pids {iso.pids})",
          file=sys.stderr, flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    sandbox.close()  # kill what is running before the handlers are waited for
    await runner.cleanup()


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description="Code sandbox HTTP service.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 exposes it to the network")
    parser.add_argument("--workers", type=int, default=None, help="parallel programs (default: cores)")
    parser.add_argument("--python", default=None, help="interpreter for untrusted code "
                        "(default: $SKILLS_SANDBOX_PYTHON or this one)")
    parser.add_argument("--max_request_mb", type=int, default=MAX_REQUEST_MB)
    args = parser.parse_args(argv)
    try:
        if args.workers is not None and args.workers < 1:
            raise UsageError(f"--workers must be at least 1, got {args.workers}")
        sandbox = Sandbox(python=args.python, workers=args.workers or default_workers())
        sandbox.isolation()
        asyncio.run(serve(sandbox, args.host, args.port, args.max_request_mb))
    except UsageError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # port taken, bad host
        print(f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
