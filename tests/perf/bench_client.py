"""Client throughput and CPU cost against the stub server (not a test: prints figures).

    python tests/perf/bench_client.py [--requests 20000] [--concurrency 512] [--latency 0.05]

Two figures per run: the bare ``Client`` (transport only) and the program's request loop
(``run_requests``: prompts, output rows, journal writes with fsync, progress bar). The stub runs in
its own process, so ``time.process_time()`` here is the client's CPU only.
Targets on a 2-core machine: >= 1,000 requests/s and <= 1 ms client CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.helpers.stub_server import StubProcess  # noqa: E402

from skills.inference.client import Client, settings_from_config  # noqa: E402
from skills.inference.config import GenerateConfig  # noqa: E402
from skills.inference.program import GenerationTask, run_requests  # noqa: E402
from skills.inference.resume import Journal  # noqa: E402


def make_cfg(base_url: str, concurrency: int) -> GenerateConfig:
    cfg = GenerateConfig(prompt_config="generic/math", output_file="unused")
    cfg.server.server_type = "vllm"
    cfg.server.base_url = base_url
    cfg.server.model = "stub-model"
    cfg.max_concurrent_requests = concurrency
    return cfg


async def bare(cfg: GenerateConfig, n: int) -> None:
    async with Client(settings_from_config(cfg)) as client:
        await client.wait_for_server()
        sem = asyncio.Semaphore(cfg.max_concurrent_requests)

        async def one(i: int) -> None:
            async with sem:
                await client.complete(cfg, messages=[{"role": "user", "content": f"question {i}"}])

        await asyncio.gather(*(one(i) for i in range(n)))


def measure(label: str, fn, n: int) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<28} {n} requests  {n / wall:8.0f} req/s  {cpu / n * 1000:6.3f} ms CPU/request  "
          f"(wall {wall:.1f} s)", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=20000)
    p.add_argument("--concurrency", type=int, default=512)
    p.add_argument("--latency", type=float, default=0.05)
    args = p.parse_args()
    try:
        import uvloop  # noqa: F401
        print("note: uvloop installed (the stub uses it)")
    except ImportError:
        pass
    with StubProcess(latency=args.latency) as stub:
        cfg = make_cfg(stub.base_url, args.concurrency)
        n = args.requests
        measure("bare client", lambda: asyncio.run(bare(cfg, n)), n)
        with tempfile.TemporaryDirectory() as tmp:
            rows = [{"problem": f"question {i}", "expected_answer": str(i)} for i in range(n)]
            prompts = [[{"role": "user", "content": r["problem"]}] for r in rows]
            journal = Journal(Path(tmp) / "out.jsonl", cfg.async_position_key)
            journal.open()

            def loop() -> None:
                asyncio.run(run_requests(GenerationTask(cfg), rows, prompts, list(range(n)), journal))
                journal.close()

            measure("program loop (+journal)", loop, n)


if __name__ == "__main__":
    main()
