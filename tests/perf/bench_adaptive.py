"""Adaptive concurrency against servers with a hidden capacity (not a test: prints figures).

    python tests/perf/bench_adaptive.py [--prompts 3000] [--capacity 32] [--latency 0.1] [--ceiling 512]

Runs the generation program (``server_type=openai``: an API whose capacity the client does not
know) against the stub server with a hidden concurrency ``--capacity``:

- ``429``: a request beyond the capacity in flight is refused at once with 429;
- ``stall``: beyond the capacity every request slows down by (in flight / capacity)^2, a server
  thrashing under overload (its throughput falls as the load grows);

each with the adaptive limit (the default) and with a fixed one (``++server.adaptive_concurrency=False``,
always ``--ceiling`` in flight), and prints the throughput as a share of the hidden limit
(capacity / latency requests per second; goal >= 80% adaptive), the share of attempts refused
with 429, and the concurrency the client ended at. Throughput is measured from the first request
sent to the last answer (the rows' generation times), so start-up does not count.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.helpers.stub_server import StubProcess, generate_cmd  # noqa: E402


def run(mode: str, adaptive: bool, args: argparse.Namespace, tmp: Path) -> dict:
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "question": f"q {i}"}) + "\n" for i in range(args.prompts)))
    out = tmp / f"out-{mode}-{adaptive}.jsonl"
    served = tmp / f"served-{mode}-{adaptive}"
    with StubProcess(latency=args.latency, capacity=args.capacity, overload=mode, served=served) as stub:
        cmd = generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                           "++prompt_config=generic/default", "++prompt_source=own", f"++max_concurrent_requests={args.ceiling}",
                           "++server.max_retries=1000", f"++server.adaptive_concurrency={adaptive}")
        cmd = [c.replace("server_type=vllm", "server_type=openai") for c in cmd]
        t0 = time.monotonic()
        res = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
    if res.returncode != 0:
        raise SystemExit(res.stderr[-2000:])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    span = max(r["generation_end_time"] for r in rows) - min(r["generation_start_time"] for r in rows)
    refused = sum(int(n) for n in re.findall(r"(\d+) x HTTP 429", res.stderr))
    conc = re.search(r"concurrency (\d+)", res.stderr)
    return {"rows": len(rows), "wall": wall, "rate": len(rows) / span, "refused": refused,
            "attempts": len(rows) + refused + 0, "final": conc.group(1) if conc else str(args.ceiling),
            "summary": next((ln for ln in res.stderr.splitlines() if ln.startswith("endpoint ")), "")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompts", type=int, default=3000)
    p.add_argument("--capacity", type=int, default=32)
    p.add_argument("--latency", type=float, default=0.1)
    p.add_argument("--ceiling", type=int, default=512)
    p.add_argument("--modes", default="429,stall")
    p.add_argument("--adaptive_only", action="store_true", help="skip the fixed-concurrency runs")
    args = p.parse_args()
    limit = args.capacity / args.latency
    print(f"hidden capacity {args.capacity} in flight x {args.latency:g} s = {limit:.0f} requests/s; "
          f"{args.prompts} prompts; ceiling {args.ceiling}")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            for adaptive in ((True,) if args.adaptive_only else (True, False)):
                r = run(mode, adaptive, args, Path(tmp))
                print(f"{mode:5s} {'adaptive' if adaptive else 'fixed   '}: {r['rate']:.0f} requests/s = "
                      f"{100 * r['rate'] / limit:.0f}% of the limit; 429: {r['refused']} of {r['attempts']} attempts "
                      f"({100 * r['refused'] / r['attempts']:.1f}%); wall {r['wall']:.1f} s; {r['summary']}")


if __name__ == "__main__":
    main()
