"""The sandbox as an HTTP service (``ns start_sandbox``, the ``--with_sandbox`` sidecar).

    python -m skills.sandbox.server --port 6000 [--host 127.0.0.1] [--workers N] [--python PY]
        [--read_only_root DIR ...] [--max_wall_s 3600]

``GET /health`` answers once isolation has been probed; ``POST /execute`` takes the arguments of
``Sandbox.execute`` as JSON (``code``, ``stdin``, ``files``, ``limits``, ``args``, ``env``,
``read_only``) and returns an ``ExecResult``. ``read_only`` host paths must lie in a folder the
service was started with (``--read_only_root``, ``$SKILLS_SANDBOX_READ_ONLY_ROOTS``): a caller must
not be able to read the service user's files through it, and ``env`` names must be on the sandbox's
allow-list (never loader or interpreter settings). At most ``workers`` programs run at a time;
SIGTERM or SIGINT kills the ones in flight before the process exits, so stopping the service leaves
nothing running.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import os
from dataclasses import asdict, replace
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Optional, Sequence

from aiohttp import web

from skills.config.errors import UsageError
from skills.sandbox.executor import READ_ONLY_ROOTS_ENV, Sandbox, check_args, default_workers
from skills.sandbox.launcher import check_env, within
from skills.sandbox.types import Limits

MAX_REQUEST_MB = 256  # a LiveCodeBench problem's tests can be tens of MB, even compressed
MAX_WALL_S = 3600.0  # LiveCodeBench's whole-problem limit is 7 s per test + 5: 513 tests fit
# The most a request may ask for; a client cannot pin a worker for long or fill the disk. Memory
# is address space per process: SciCode's reference value is 100 GiB. CPU time is bounded by the
# wall clock anyway.
MAX_LIMITS = Limits(cpu_s=None, wall_s=MAX_WALL_S, memory_mb=128 * 1024, max_processes=1024, max_file_mb=1024,
                    max_open_files=4096, max_output_bytes=64 * 1024 * 1024, threads=1024)
_FIELDS = {"code", "stdin", "files", "limits", "args", "env", "read_only"}


def read_only_roots(given: Sequence[str] = ()) -> list:
    """Folders whose files requests may ask to read (``--read_only_root`` + the environment)."""
    env = [p for p in os.environ.get(READ_ONLY_ROOTS_ENV, "").split(os.pathsep) if p]
    return [os.path.abspath(p) for p in [*given, *env]]


def _check_read_only(paths: Any, roots: Sequence[str]) -> list:
    """Paths inside the exposed folders, also once links are resolved: a link inside a root that
    leads out of every root is refused (``..`` and relative paths are too)."""
    if not isinstance(paths, list) or not all(isinstance(p, str) and "\0" not in p for p in paths):
        raise UsageError("'read_only' must be a list of absolute paths")
    real_roots = [os.path.realpath(r) for r in roots]
    for path in paths:
        if not os.path.isabs(path):
            raise UsageError(f"read_only path {path!r} must be absolute")
        norm, real = os.path.abspath(path), os.path.realpath(path)
        if not (any(within(norm, r) for r in roots) and any(within(real, r) for r in real_roots)):
            allowed = ", ".join(roots) or "none (start the service with --read_only_root DIR)"
            raise UsageError(f"read_only path {path} is outside the folders this service exposes ({allowed})")
    return paths


def _decode_files(files: Any) -> Dict[str, Any]:
    if not isinstance(files, dict):
        raise UsageError("'files' must be an object of name -> text or {\"base64\": ...}")
    out: Dict[str, Any] = {}
    for name, value in files.items():
        if isinstance(value, dict) and isinstance(value.get("base64"), str):
            try:
                out[name] = base64.b64decode(value["base64"], validate=True)
            except binascii.Error:
                raise UsageError(f"file {name!r}: invalid base64") from None
        elif isinstance(value, str):
            out[name] = value
        else:
            raise UsageError(f"file {name!r}: expected text or {{\"base64\": ...}}")
    return out


def parse_request(body: Any, ceiling: Limits = MAX_LIMITS, roots: Sequence[str] = ()) -> Dict[str, Any]:
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
    if not isinstance(args, list):
        raise UsageError("'args' must be a list of strings")
    args = check_args(args)
    env = check_env(body.get("env") or {})  # loader and interpreter settings are refused here
    limits = Limits.from_dict(body.get("limits"))
    too_high = limits.exceeds(ceiling)
    if too_high:
        raise UsageError(f"limit above this server's maximum: {too_high}")
    return dict(code=code, stdin=stdin, files=_decode_files(body.get("files") or {}), limits=limits,
                args=args, env=env, read_only=_check_read_only(body.get("read_only") or [], roots))


def make_app(sandbox: Sandbox, max_request_mb: int = MAX_REQUEST_MB,
             roots: Sequence[str] = (), ceiling: Limits = MAX_LIMITS) -> web.Application:
    pool = ThreadPoolExecutor(max_workers=sandbox.workers, thread_name_prefix="sandbox")
    busy = {"n": 0}

    async def health(_request: web.Request) -> web.Response:
        iso = sandbox.isolation()
        return web.json_response({
            "status": "ok", "workers": sandbox.workers, "busy": busy["n"], "isolation": iso.mode,
            "network_isolated": iso.network, "fs_isolated": iso.filesystem, "pid_isolated": iso.pids,
            "as_root": iso.as_root, "max_limits": asdict(ceiling)})

    async def execute(request: web.Request) -> web.Response:
        try:
            kwargs = parse_request(await request.json(), ceiling, roots)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
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


async def serve(sandbox: Sandbox, host: str, port: int, max_request_mb: int = MAX_REQUEST_MB,
                roots: Sequence[str] = (), ceiling: Limits = MAX_LIMITS) -> None:
    iso = await asyncio.get_running_loop().run_in_executor(None, sandbox.isolation)
    runner = web.AppRunner(make_app(sandbox, max_request_mb, roots, ceiling), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"sandbox: serving on http://{host}:{port} with {sandbox.workers} workers, isolation "
          f"{iso.mode} (network {iso.network}, filesystem {iso.filesystem}, pids {iso.pids}"
          f"{', AS ROOT' if iso.as_root else ''})",
          file=sys.stderr, flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    try:
        sandbox.close()  # kill what is running before the handlers are waited for
    except Exception as exc:  # noqa: BLE001 - stopping goes on; the reason is said, not a traceback
        print(f"sandbox: while stopping: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    await runner.cleanup()


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description="Code sandbox HTTP service.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 exposes it to the network")
    parser.add_argument("--workers", type=int, default=None, help="parallel programs (default: cores)")
    parser.add_argument("--python", default=None, help="interpreter for untrusted code "
                        "(default: $SKILLS_SANDBOX_PYTHON or this one)")
    parser.add_argument("--max_request_mb", type=int, default=MAX_REQUEST_MB)
    parser.add_argument("--max_wall_s", type=float, default=MAX_WALL_S,
                        help="longest wall time one request may ask for (seconds)")
    parser.add_argument("--read_only_root", action="append", default=[],
                        help=f"folder whose files requests may read (read_only); also ${READ_ONLY_ROOTS_ENV}")
    args = parser.parse_args(argv)
    try:
        if args.workers is not None and args.workers < 1:
            raise UsageError(f"--workers must be at least 1, got {args.workers}")
        ceiling = replace(MAX_LIMITS, wall_s=args.max_wall_s)
        sandbox = Sandbox(python=args.python, workers=args.workers or default_workers())
        sandbox.isolation()
        asyncio.run(serve(sandbox, args.host, args.port, args.max_request_mb, read_only_roots(args.read_only_root),
                          ceiling))
    except UsageError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # port taken, bad host
        print(f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
