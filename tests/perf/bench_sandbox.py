"""Sandbox overhead against a bare spawn of the same interpreter, printed, not asserted.

For each isolation level that works here (bwrap, unshare, none) and for the HTTP service (at the
strongest level) against the library: the time per execution of a trivial program (``pass``) and
of a stdin program, called back to back, next to ``subprocess.run([python, "-c", "pass"])`` (and
the same with stdin) of the same interpreter, and the CPU time per ``pass`` execution of
everything started (as root, from a cgroup of the benchmark's own: independent of the machine's
load). Candidates run in blocks, interleaved round after round, so a busy moment on a shared
machine hits them alike; the figures are medians over rounds. At 1 worker the time ratio is
per-execution latency; at all cores it is throughput, bounded by CPU.

    python tests/perf/bench_sandbox.py [--python PY] [--rounds 9] [--calls 15] [--workers 1,2]
        [--levels bwrap,unshare,none] [--no-service]

Goal (issue 26): <= 1.5x a bare spawn with bubblewrap and the uid drop (as root), the service
within +20% of the library.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from skills.config.errors import UsageError  # noqa: E402
from skills.sandbox import Limits, Sandbox  # noqa: E402
from skills.sandbox.client import SandboxClient  # noqa: E402
from skills.sandbox.executor import default_python  # noqa: E402
from skills.servers.health import wait_for_server  # noqa: E402
from skills.servers.ports import find_free_port  # noqa: E402

LIMITS = Limits(wall_s=30, cpu_s=30)
ECHO = "print(int(input()) * 2)\n"  # the stdin program: one "test" of a contest problem


class CpuMeter:
    """CPU time of this process and everything it starts (sandboxes, the service), from a cgroup v2
    of its own: unlike wall time it does not depend on what else the machine runs. Needs root and a
    cgroup2 mount; without them the figures are left out."""

    def __init__(self) -> None:
        self.folder: Optional[str] = None
        try:
            mounts = [line.split() for line in open("/proc/self/mountinfo")]
            root = next(f[4] for f in mounts if f[f.index("-") + 1] == "cgroup2")
            folder = os.path.join(root, f"skills-bench-sandbox-{os.getpid()}")
            os.mkdir(folder)
            with open(os.path.join(folder, "cgroup.procs"), "w") as fh:
                fh.write(str(os.getpid()))
            self.folder, self.root = folder, root
        except (OSError, StopIteration, ValueError):
            pass

    def seconds(self) -> Optional[float]:
        if self.folder is None:
            return None
        with open(os.path.join(self.folder, "cpu.stat")) as fh:
            return int(next(line.split()[1] for line in fh if line.startswith("usage_usec"))) / 1e6

    def close(self) -> None:
        if self.folder is not None:
            with open(os.path.join(self.root, "cgroup.procs"), "w") as fh:
                fh.write(str(os.getpid()))
            try:
                os.rmdir(self.folder)
            except OSError:  # a process of ours is still in it (a service being stopped)
                pass


def per_call(task: Callable[[int], None], calls: int, workers: int, meter: CpuMeter) -> Tuple[float, Optional[float]]:
    """Seconds per call of ``task``, ``calls`` of them back to back on ``workers`` threads
    (wall time x workers / calls: at 1 worker the latency, at all cores the CPU-bound cost), and
    CPU seconds per call (everything started, launches ahead included)."""
    cpu, start = meter.seconds(), time.perf_counter()
    if workers == 1:
        for i in range(calls):
            task(i)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(task, range(calls)))
    wall = (time.perf_counter() - start) * workers / calls
    return wall, None if cpu is None else (meter.seconds() - cpu) / calls


def start_service(python: str, workers: int) -> subprocess.Popen:
    port = find_free_port()
    proc = subprocess.Popen([sys.executable, "-m", "skills.sandbox.server", "--port", str(port), "--workers",
                             str(workers), "--python", python], stderr=subprocess.DEVNULL)
    wait_for_server(f"http://127.0.0.1:{port}/health", timeout_s=120, process=proc, poll_s=0.2)
    proc.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    return proc


def candidates(python: str, levels: List[str], workers: int, service: bool):
    """name -> (trivial task, stdin task), plus what to close afterwards."""
    def bare(_):
        subprocess.run([python, "-c", "pass"], check=True)

    def bare_stdin(i):
        out = subprocess.run([python, "-c", ECHO], input=str(i), capture_output=True, text=True, check=True)
        assert out.stdout == f"{2 * i}\n"

    def tasks(target):
        def trivial(_):
            result = target.execute("pass", limits=LIMITS)
            assert result.status == "completed", result

        def echo(i):
            result = target.execute(ECHO, stdin=str(i), limits=LIMITS)
            assert result.stdout == f"{2 * i}\n", result

        return trivial, echo

    found: Dict[str, tuple] = {"bare spawn": (bare, bare_stdin)}
    sandboxes, closers = {}, []
    for level in levels:
        sandbox = Sandbox(python=python, workers=workers, isolation=level)
        try:
            iso = sandbox.isolation()
        except UsageError as exc:
            print(f"  ({level}: unavailable here: {exc.message[:160]})")
            continue
        uid = "uid drop" if iso.drop_uid else "as root" if iso.as_root else "own uid"
        stage = "" if getattr(iso, "stage", "older") else ", sh stage"  # an older checkout has neither
        found[f"{level} ({uid}{stage})"] = tasks(sandbox)
        sandboxes[level] = sandbox
        closers.append(sandbox.close)
    if service and sandboxes:
        level = next(iter(sandboxes))
        proc = start_service(python, workers)
        client = SandboxClient(proc.url)
        found[f"service ({level})"] = tasks(client)
        closers += [client.close, proc.terminate, proc.wait]
    return found, sandboxes, closers


def measure(python: str, levels: List[str], workers: int, rounds: int, calls: int, service: bool,
            meter: CpuMeter) -> None:
    found, sandboxes, closers = candidates(python, levels, workers, service)
    try:
        for trivial, echo in found.values():  # warm caches, probes and the service's connection
            for _ in range(2):
                trivial(0), echo(1)
        times: Dict[str, List[List[float]]] = {name: [[], [], []] for name in found}
        paired: List[float] = []  # service / library, one call each in turn: the fairest comparison
        names = list(found)
        service_name = next((n for n in names if n.startswith("service")), None)
        for _ in range(rounds):
            for name, (trivial, echo) in found.items():
                wall, cpu = per_call(trivial, calls, workers, meter)
                times[name][0].append(wall)
                if cpu is not None:
                    times[name][2].append(cpu)
                times[name][1].append(per_call(echo, calls, workers, meter)[0])
            if service_name and workers == 1 and len(names) > 2:
                pairs = [(per_call(found[names[1]][0], 1, 1, meter)[0], per_call(found[service_name][0], 1, 1, meter)[0])
                         for _ in range(calls)]
                paired.append(statistics.median(s for _, s in pairs) / statistics.median(lib for lib, _ in pairs))
    finally:
        launched = {level: getattr(sandbox, "launches", None) for level, sandbox in sandboxes.items()}
        for close in closers:
            close()
    base = [statistics.median(t) if t else None for t in times["bare spawn"]]
    library = None
    print(f"{workers} worker(s), median of {rounds} rounds x {calls} calls back to back "
          f"({'latency' if workers == 1 else 'throughput, CPU-bound'}); CPU: everything started, per call:")
    print(f"  {'':30s} {'pass':>9s} {'ratio':>6s}   {'stdin':>9s} {'ratio':>6s}   {'CPU pass':>9s} {'ratio':>6s}")
    for name, series in times.items():
        ms = [1000 * statistics.median(t) if t else None for t in series]
        cells = []
        for value, ref in zip(ms, base):
            cells.append(f"{value:6.1f} ms {value / (1000 * ref):5.2f}x" if value is not None else f"{'-':>9s} {'':6s}")
        note = ""
        level = name.split(" ")[0]
        if level in launched:
            got = launched[level]
            if got is not None:
                note = "   " + ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in got.items() if n)
            library = library or (name, ms)
        elif name.startswith("service") and library:
            note = f"   service / library: {ms[0] / library[1][0]:.2f}x, {ms[1] / library[1][1]:.2f}x" + (
                f", CPU {ms[2] / library[1][2]:.2f}x" if ms[2] and library[1][2] else "") + (
                f", calls in turn {statistics.median(paired):.2f}x" if paired else "")
        print(f"  {name:30s} {'   '.join(cells)}{note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=None, help="interpreter of the programs (default: the sandbox's)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--workers", default=f"1,{len(os.sched_getaffinity(0))}")
    parser.add_argument("--levels", default="bwrap,unshare,none")
    parser.add_argument("--no-service", action="store_true")
    args = parser.parse_args()
    python = args.python or default_python()
    print(f"interpreter {python}; bare spawn = subprocess.run([python, '-c', 'pass']); "
          f"{'root' if os.geteuid() == 0 else 'not root'}, {len(os.sched_getaffinity(0))} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    meter = CpuMeter()
    try:
        for workers in sorted({int(w) for w in args.workers.split(",")}):
            measure(python, args.levels.split(","), workers, args.rounds, args.calls * workers, not args.no_service,
                    meter)
    finally:
        meter.close()
    print(f"load average {os.getloadavg()[0]:.1f} on {len(os.sched_getaffinity(0))} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
