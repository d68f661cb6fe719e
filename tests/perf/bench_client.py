"""Client throughput, CPU and memory against the stub server, beside a bare aiohttp loop (not a test:
prints figures).

    python tests/perf/bench_client.py [--requests 20000] [--concurrency 512] [--latency 0.05]
                                      [--scaling 2500,10000,40000]

Every figure comes from a fresh child process (so its peak RSS is its own) against one stub that
runs in a process of its own (so a child's ``time.process_time()`` is the client's CPU only):

- ``bare aiohttp loop``: the baseline, a plain ``aiohttp.ClientSession`` posting one chat body per
  request under a semaphore, every request a coroutine up front, JSON decoded; nothing else.
- ``program loop``: ``run_requests`` (the program's request loop: output rows, journal writes with
  fsync, progress, retries bookkeeping) over rows held in memory.
- ``generate program``: the whole ``python -m skills.inference.generate`` run, file to file (reading
  the input, prompts, resume fingerprint, journal, ordered final file), in one process.

The first block prints each one's requests/s, its share of the bare loop's and its CPU per request
(medians of ``--rounds`` interleaved rounds: the process is CPU-bound, so on a shared machine its
rate moves with the others' load, and the share is taken within each round);
the scaling block runs 1x, 4x and 16x the work and prints wall time and peak RSS for each.
Goals (issue 26): the program >= 80% of the bare loop's requests/s, <= 0.3 ms CPU per request, and
peak RSS within +50 MB from 2,500 to 40,000 requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

KINDS = ("bare aiohttp loop", "program loop", "generate program")


def make_cfg(base_url: str, concurrency: int):
    from skills.inference.config import GenerateConfig

    cfg = GenerateConfig(prompt_config="generic/math", output_file="unused")
    cfg.server.server_type = "vllm"
    cfg.server.base_url = base_url
    cfg.server.model = "stub-model"
    cfg.max_concurrent_requests = concurrency
    return cfg


async def bare(base_url: str, n: int, concurrency: int) -> None:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                     headers={"Content-Type": "application/json"}) as session:
        sem = asyncio.Semaphore(concurrency)
        url = base_url + "/chat/completions"

        async def one(i: int) -> None:
            body = json.dumps({"model": "stub-model", "messages": [{"role": "user", "content": f"question {i}"}]})
            async with sem:
                async with session.post(url, data=body) as resp:
                    data = json.loads(await resp.read())
                    assert data["choices"][0]["message"]["content"] is not None

        await asyncio.gather(*(one(i) for i in range(n)))


def program_loop(base_url: str, n: int, concurrency: int, tmp: Path) -> None:
    from skills.inference.program import GenerationTask, run_requests
    from skills.inference.resume import Journal, finalize

    cfg = make_cfg(base_url, concurrency)
    rows = [{"problem": f"question {i}", "expected_answer": str(i)} for i in range(n)]
    prompts = [[{"role": "user", "content": r["problem"]}] for r in rows]
    journal = Journal(tmp / "out.jsonl", cfg.async_position_key)
    journal.open()
    asyncio.run(run_requests(GenerationTask(cfg), ((i, rows[i], prompts[i], None) for i in range(n)), journal, n, n))
    journal.close()
    finalize(tmp / "out.jsonl", cfg.async_position_key, n)


def write_input(n: int, tmp: Path) -> Path:
    src = tmp / "in.jsonl"
    with open(src, "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"problem": f"question {i}", "expected_answer": str(i)}) + "\n")
    return src


def generate_program(base_url: str, n: int, concurrency: int, tmp: Path) -> None:
    from skills.inference.program import GenerationTask, main

    src = tmp / "in.jsonl"
    rc = main([f"++input_file={src}", f"++output_file={tmp / 'out.jsonl'}", "++prompt_config=generic/math", "++prompt_source=own",
               "++server.server_type=vllm", f"++server.base_url={base_url}", "++server.model=stub-model",
               f"++max_concurrent_requests={concurrency}"], task_cls=GenerationTask)
    assert rc == 0, rc


def child(kind: str, base_url: str, n: int, concurrency: int) -> None:
    """One measurement in this (fresh) process; prints one JSON line."""
    import aiohttp  # noqa: F401  (imports are start-up, not per-request work: done before the clock starts)

    if kind != KINDS[0]:
        import skills.inference.program  # noqa: F401
    with tempfile.TemporaryDirectory() as tmp:
        if kind == KINDS[2]:
            write_input(n, Path(tmp))  # not the program's work
        t0, c0 = time.perf_counter(), time.process_time()
        if kind == KINDS[0]:
            asyncio.run(bare(base_url, n, concurrency))
        elif kind == KINDS[1]:
            program_loop(base_url, n, concurrency, Path(tmp))
        else:
            generate_program(base_url, n, concurrency, Path(tmp))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": rss_mb}))


def measure(kind: str, base_url: str, n: int, concurrency: int) -> dict:
    import os

    env = {**os.environ, "SKILLS_PROGRESS_INTERVAL": "3600"}
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--base-url", base_url, "--requests", str(n),
                          "--concurrency", str(concurrency)], check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=20000)
    p.add_argument("--concurrency", type=int, default=512)
    p.add_argument("--latency", type=float, default=0.05)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--kinds", default=",".join(KINDS), help="which of them to run, comma-separated (the bare loop always)")
    p.add_argument("--scaling", default="2500,10000,40000", help="request counts of the scaling block ('' skips it)")
    p.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args.child, args.base_url, args.requests, args.concurrency)
    from tests.helpers.stub_server import StubProcess

    print(f"{args.requests} requests, concurrency {args.concurrency}, stub latency {args.latency * 1000:g} ms; "
          f"{os_load()}", flush=True)
    kinds = [KINDS[0]] + [k for k in KINDS[1:] if k in args.kinds.split(",")]
    with StubProcess(latency=args.latency) as stub:
        n = args.requests
        rounds = [{kind: measure(kind, stub.base_url, n, args.concurrency) for kind in kinds}
                  for _ in range(args.rounds)]  # interleaved: the machine's load moves between rounds
        print(f"median of {args.rounds} interleaved rounds (share: each round's own, lowest-highest):")
        for kind in kinds:
            rates = [n / r[kind]["wall"] for r in rounds]
            shares = sorted(n / r[kind]["wall"] / (n / r[KINDS[0]]["wall"]) for r in rounds)
            cpu = statistics.median(r[kind]["cpu"] for r in rounds)
            rss = statistics.median(r[kind]["rss_mb"] for r in rounds)
            print(f"{kind:<20} {statistics.median(rates):7.0f} req/s  {statistics.median(shares):5.0%} of the bare "
                  f"loop ({shares[0]:.0%}-{shares[-1]:.0%})  {cpu / n * 1000:6.3f} ms CPU/request  "
                  f"peak RSS {rss:4.0f} MB", flush=True)
        sizes = [int(x) for x in args.scaling.split(",") if x]
        if sizes:
            print(f"\nscaling (wall s / peak RSS MB) at {', '.join(f'{s:,}' for s in sizes)} requests:", flush=True)
        for kind in kinds if sizes else ():
            runs = [measure(kind, stub.base_url, s, args.concurrency) for s in sizes]
            cells = "  ".join(f"{r['wall']:6.1f} s {r['rss_mb']:5.0f} MB" for r in runs)
            print(f"{kind:<20} {cells}   RSS {runs[-1]['rss_mb'] - runs[0]['rss_mb']:+.0f} MB "
                  f"from {sizes[0]:,} to {sizes[-1]:,}", flush=True)


def os_load() -> str:
    import os

    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


if __name__ == "__main__":
    main()
