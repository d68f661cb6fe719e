"""A whole ``ns eval`` against the 50 ms stub beside a bare one-process script doing the same requests
and grading (not a test: prints figures).

    python tests/perf/bench_eval.py [--rounds 2] [--latency 0.05] [--scaling 1,4,16] [--max-scaled-s 600]

The eval: gpqa:8, math-500:8, aime24:8, aime25:8, mmlu-pro:1 (18,096 requests), prepared from the
mirror (``SKILLS_DATA_MIRROR``) into a temporary data folder; the stub answers every request with
``Reasoning about <n>. The answer is \\boxed{<n>}.`` so math answers go through extraction and, where
the expected answer is not a plain integer, sympy.

- ``bare script``: one process, one ``aiohttp`` session, every request a coroutine under one
  semaphore of 512 (the problem text as the user message), then every answer graded in that process
  (``extract_answer`` + ``math_equal`` for math, ``extract_letter`` for multiple choice), rows written
  to one JSONL file per benchmark and seed. No prompts, no journal, no pool, no metrics.
- ``ns eval``: the whole command (planning, generation jobs, grading, metrics, group tables), local
  executor, ``--server_address`` at the stub.
- ``--baseline-ref main`` adds ``ns eval`` from that git ref (its ``skills`` package exported to a
  temporary folder and put first on ``PYTHONPATH``), measured in the same rounds.

Both run as children of this script, one after the other in each round (the order alternates), so
they see the same load; wall time, CPU (``wait4``: the child and every descendant it waited for) and
peak memory (RSS summed over the child's whole process tree, sampled every 0.1 s) are printed per
round with the ratios, and the median time ratio over the rounds. The
scaling block repeats the bare script and ``ns eval`` with every data row repeated 4x and 16x (the
same number of files and commands, 4x and 16x the requests and grading; 1x is round 1), skipping a
size whose projected ``ns eval`` time exceeds ``--max-scaled-s``. The machine's load average is
printed with each row. Goal (issue 26): ns eval within 2x the bare script, peak memory under 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

BENCHMARKS = {"gpqa": 8, "math-500": 8, "aime24": 8, "aime25": 8, "mmlu-pro": 1}
FILES = {"gpqa": "diamond.jsonl", "math-500": "test.jsonl", "aime24": "test.jsonl", "aime25": "test.jsonl",
         "mmlu-pro": "test.jsonl"}
MATH = {"math-500", "aime24", "aime25"}
ANSWER = "Reasoning about {n}. The answer is \\boxed{{n}}."
NS = str(Path(sys.executable).parent / "ns")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ----------------------------------------------------------------------------- the bare script
def bare(data_dir: str, base_url: str, out_dir: str, concurrency: int = 512) -> None:
    """One process: every request, then every answer graded, results written per benchmark and seed."""
    import asyncio

    import aiohttp

    from skills.evaluation.math_grader import extract_answer, math_equal
    from skills.evaluation.mcq import extract_letter

    work = []  # (bench, seed, row)
    for bench, seeds in BENCHMARKS.items():
        with open(os.path.join(data_dir, bench, FILES[bench]), encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        work += [(bench, seed, row) for seed in range(seeds) for row in rows]

    async def generate() -> list:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                         headers={"Content-Type": "application/json"}) as session:
            sem = asyncio.Semaphore(concurrency)
            url = base_url + "/chat/completions"

            async def one(row: dict) -> str:
                body = json.dumps({"model": "stub-model", "temperature": 0.7, "top_p": 0.95,
                                   "messages": [{"role": "user", "content": row["problem"]}]})
                async with sem:
                    async with session.post(url, data=body) as resp:
                        return json.loads(await resp.read())["choices"][0]["message"]["content"]

            return await asyncio.gather(*(one(row) for _, _, row in work))

    texts = asyncio.run(generate())
    outputs: dict = {}
    for (bench, seed, row), text in zip(work, texts):
        out = dict(row, generation=text)
        if bench in MATH:
            out["predicted_answer"] = extract_answer(text)
            out["symbolic_correct"] = math_equal(row["expected_answer"], out["predicted_answer"])
        else:
            out["predicted_answer"] = extract_letter(text)
            out["symbolic_correct"] = out["predicted_answer"] == row["expected_answer"]
        outputs.setdefault((bench, seed), []).append(out)
    for (bench, seed), rows in outputs.items():
        os.makedirs(os.path.join(out_dir, bench), exist_ok=True)
        with open(os.path.join(out_dir, bench, f"output-rs{seed}.jsonl"), "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)


# ----------------------------------------------------------------------------- measuring a process tree
def _children() -> dict:
    kids: dict = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_rss(root: int) -> int:
    """RSS summed over ``root`` and all its descendants, bytes."""
    kids, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
        todo += kids.get(pid, [])
    return total


def measure(cmd: list, env: dict, log: Path) -> tuple:
    """(wall s, peak RSS of the whole tree in bytes, most processes at once, CPU s of the tree); fails loudly."""
    peak, procs, stop = [0], [0], threading.Event()
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)

        def sample() -> None:
            while not stop.wait(0.1):
                peak[0] = max(peak[0], tree_rss(proc.pid))
                kids, n, todo = _children(), 0, [proc.pid]
                while todo:
                    n += 1
                    todo += kids.get(todo.pop(), [])
                procs[0] = max(procs[0], n)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)  # CPU of the child and every descendant it waited for
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        stop.set()
        sampler.join()
    if rc != 0:
        raise SystemExit(f"{cmd[:3]} failed (exit {rc}); see {log}")
    return wall, peak[0], procs[0], usage.ru_utime + usage.ru_stime


# ----------------------------------------------------------------------------- data
def prepare(tmp: Path, env: dict) -> Path:
    data = tmp / "data-1x"
    subprocess.run([NS, "prepare_data", *BENCHMARKS, "--data_dir", str(data)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return data


def scaled(base: Path, k: int) -> Path:
    """The same files with every row repeated ``k`` times (the prompt set linked, not copied)."""
    if k == 1:
        return base
    data = base.parent / f"data-{k}x"
    if data.exists():
        return data
    data.mkdir()
    os.symlink(base / ".prompt-sets", data / ".prompt-sets")
    for bench, name in FILES.items():
        (data / bench).mkdir()
        text = (base / bench / name).read_text(encoding="utf-8")
        (data / bench / name).write_text(text * k, encoding="utf-8")
    return data


def requests_of(data: Path) -> int:
    return sum(seeds * sum(1 for _ in open(data / b / FILES[b], encoding="utf-8")) for b, seeds in BENCHMARKS.items())


def export_ref(ref: str, tmp: Path) -> Path:
    """The ``skills`` package of git ``ref`` in a folder of its own (for ``PYTHONPATH``)."""
    dest = tmp / f"ref-{ref.replace('/', '_')}"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "skills"], check=True,
                             stdout=subprocess.PIPE).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def one_round(data: Path, base_url: str, tmp: Path, env: dict, tag: str, bare_first: bool,
              ref: tuple = ()) -> dict:
    def ns_eval(kind: str) -> list:
        return [NS, "eval", "--cluster=local", "--server_type=vllm", f"--server_address={base_url}",
                "--model=stub-model", f"--benchmarks={','.join(f'{b}:{s}' for b, s in BENCHMARKS.items())}",
                f"--output_dir={tmp / f'{kind}-{tag}'}", f"--data_dir={data}"]

    runs = {"bare": [sys.executable, __file__, "--bare", str(data), base_url, str(tmp / f"bare-{tag}")],
            "ns": ns_eval("ns")}
    envs = {"bare": env, "ns": env}
    if ref:
        runs["ref"] = ns_eval("ref")
        envs["ref"] = dict(env, PYTHONPATH=os.pathsep.join(p for p in (str(ref[1]), env.get("PYTHONPATH")) if p))
    order = list(runs) if bare_first else list(reversed(runs))
    result = {}
    for kind in order:
        result[kind] = measure(runs[kind], envs[kind], tmp / f"{kind}-{tag}.log")
    for kind in runs:
        shutil.rmtree(tmp / f"{kind}-{tag}", ignore_errors=True)
    return result


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def row(label: str, n: int, r: dict) -> str:
    bw, bm, bp, bc = r["bare"]
    text = f"{label:<10} {n:>8} {bw:>7.1f} {bc:>7.1f} {bm / 2**20:>7.0f}"
    for kind in ("ns", "ref"):
        if kind in r:
            w, m, p, c = r[kind]
            text += f" | {w:>7.1f} {w / bw:>6.2f}x {c:>7.1f} {c / bc:>6.2f}x {m / 2**20:>7.0f} {p:>5}"
    return text + f" | {load():>15}"


def header(ref: bool) -> str:
    text = f"{'':<10} {'requests':>8} {'bare s':>7} {'cpu s':>7} {'MB':>7}"
    for kind in ("ns", "ref") if ref else ("ns",):
        text += f" | {kind + ' s':>7} {'ratio':>7} {'cpu s':>7} {'ratio':>7} {'MB':>7} {'procs':>5}"
    return text + f" | {'load 1/5/15':>15}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--scaling", default="1,4,16", help="work multiples for the scaling block ('' for none)")
    parser.add_argument("--max-scaled-s", type=float, default=600.0,
                        help="skip a scaling size whose projected ns eval time exceeds this")
    parser.add_argument("--baseline-ref", help="also time ns eval from this git ref (e.g. main)")
    parser.add_argument("--bare", nargs=3, metavar=("DATA", "URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        return bare(*args.bare)
    from tests.helpers.stub_server import StubProcess

    env = dict(os.environ)
    shared = Path(os.environ.get("SKILLS_SHARED_DIR") or REPO.parent / "shared")  # as scripts/test.sh finds it
    env.setdefault("SKILLS_DATA_MIRROR", str(shared / "datasets") if (shared / "datasets").is_dir() else "")
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmpdir, \
            StubProcess(latency=args.latency, answer=ANSWER) as stub:
        tmp = Path(tmpdir)
        ref = (args.baseline_ref, export_ref(args.baseline_ref, tmp)) if args.baseline_ref else ()
        data = prepare(tmp, env)
        n = requests_of(data)
        print(f"whole eval vs a bare one-process script, stub latency {args.latency * 1000:.0f} ms, "
              f"{os.cpu_count()} cores (peak MB: RSS summed over the process tree; procs: most at once"
              + (f"; ref: ns eval at {args.baseline_ref}" if ref else "") + ")")
        print(header(bool(ref)))
        ratios, peaks, ref_ratios, first = [], [], [], None
        for i in range(args.rounds):
            r = one_round(data, stub.base_url, tmp, env, f"r{i}", bare_first=i % 2 == 0, ref=ref)
            first = first or r
            ratios.append(r["ns"][0] / r["bare"][0])
            peaks.append(r["ns"][1])
            if ref:
                ref_ratios.append(r["ref"][0] / r["bare"][0])
            print(row(f"round {i + 1}", n, r), flush=True)
        print(f"median ratio {statistics.median(ratios):.2f}x (goal <= 2x); ns eval peak "
              f"{max(peaks) / 2**20:.0f} MB (goal < 1536 MB)"
              + (f"; {args.baseline_ref}: median ratio {statistics.median(ref_ratios):.2f}x" if ref else ""))
        sizes = [int(k) for k in args.scaling.split(",") if k.strip()]
        if sizes:
            print("\nscaling (each data row repeated k times; 1x: round 1)")
            print(header(False))
            per_request = None
            for k in sizes:
                d = scaled(data, k)
                nk = requests_of(d)
                if per_request is not None and per_request * nk > args.max_scaled_s:
                    print(f"{k}x: skipped (projected {per_request * nk:.0f} s > --max-scaled-s)")
                    continue
                # 1x: the first round's figures; the larger sizes without the --baseline-ref run
                r = {k: v for k, v in first.items() if k != "ref"} if k == 1 and first else \
                    one_round(d, stub.base_url, tmp, env, f"s{k}", bare_first=True)
                per_request = r["ns"][0] / nk
                print(row(f"{k}x", nk, r), flush=True)


if __name__ == "__main__":
    main()
