"""Generation under an overloaded, flaky server (not a test: prints figures).

    python tests/perf/bench_faults.py [--prompts 3000] [--concurrency 512] [--latency 0.05]
        [--fail_rates 503=0.10,429=0.05,drop=0.05]

Runs the generation program twice against the stub server: once clean, once with seeded random
503 / 429 / dropped connections, and prints the wall time of each, their ratio (goal <= 2x at the
default fault rates), the requests the server received (goal: <= prompts + retries) and whether
any prompt was answered twice in the output (goal: none).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.helpers.stub_server import StubProcess, generate_cmd  # noqa: E402


def run(prompts: int, concurrency: int, latency: float, rates: str, tmp: Path) -> dict:
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "question": f"question {i}"}) + "\n" for i in range(prompts)))
    out, record = tmp / f"out-{bool(rates)}.jsonl", tmp / f"req-{bool(rates)}.jsonl"
    with StubProcess(latency=latency, fail_rates=rates, seed=1, record=record) as stub:
        cmd = generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                           "++prompt_config=generic/default", f"++max_concurrent_requests={concurrency}")
        cmd = [c for c in cmd if "retry_" not in c]  # the real backoff settings
        t0 = time.monotonic()
        res = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
    if res.returncode != 0:
        raise SystemExit(res.stderr[-2000:])
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    received = len(record.read_text().splitlines())  # 200 answers recorded; add the failures below
    retried = next((ln for ln in res.stderr.splitlines() if "request attempts were retried" in ln), "0 retried")
    return {"wall": wall, "ids_ok": ids == list(range(prompts)), "answered": received,
            "retries": int(retried.split()[0]), "retry_line": retried}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompts", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=512)
    p.add_argument("--latency", type=float, default=0.05)
    p.add_argument("--fail_rates", default="503=0.10,429=0.05,drop=0.05")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clean = run(args.prompts, args.concurrency, args.latency, "", Path(tmp))
        faulty = run(args.prompts, args.concurrency, args.latency, args.fail_rates, Path(tmp))
    print(f"clean : {clean['wall']:.2f} s, {clean['answered']} answered requests")
    print(f"faults: {faulty['wall']:.2f} s, {faulty['answered']} answered + {faulty['retries']} retried "
          f"attempts ({args.fail_rates})")
    print(f"        {faulty['retry_line']}")
    print(f"wall time ratio {faulty['wall'] / clean['wall']:.2f}x (goal <= 2x); "
          f"requests sent {faulty['answered'] + faulty['retries']} for {args.prompts} prompts "
          f"(goal <= prompts + retries = {args.prompts + faulty['retries']}); "
          f"every prompt answered exactly once: {faulty['ids_ok'] and faulty['answered'] == args.prompts}")


if __name__ == "__main__":
    main()
