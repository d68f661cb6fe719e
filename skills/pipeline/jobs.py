"""Jobs of a plan: runs packed into jobs (``--num_jobs``), each job's server, sidecars and commands, the
Slurm options every job gets, and ``--dependent_jobs`` chains.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, TypeVar

from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.inference.lane import lane_argv
from skills.pipeline.plan import Job
from skills.pipeline.programs import shell_join
from skills.pipeline.runs import Run
from skills.pipeline.servers import PortAllocator, ServerOptions, client_overrides, make_servers
from skills.pipeline.sidecars import make_sidecars

T = TypeVar("T")


@dataclass
class SlurmOptions:
    partition: Optional[str] = None
    qos: Optional[str] = None
    time_min: Optional[str] = None
    exclusive: Optional[bool] = None
    sbatch_kwargs: Dict[str, str] = field(default_factory=dict)
    run_after: List[str] = field(default_factory=list)
    dependent_jobs: int = 0


def check_expname(expname: str) -> None:
    """Experiment names become file and job names: no path separators, no surprises."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", expname or ""):
        raise UsageError(f"--expname '{expname}': use letters, digits and . _ + - (no spaces or '/')")


def parallel_command(commands: Sequence[str]) -> str:
    """Run commands concurrently in one job and fail if ANY of them fails (no bare ``wait``)."""
    if len(commands) == 1:
        return commands[0]
    lines = ["pids=()"]
    lines += [f"( {c} ) & pids+=($!)" for c in commands]
    lines.append('rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done; exit $rc')
    return "\n".join(lines)


def lane_command(commands: Sequence[str]) -> str:
    """Commands one after the other; each runs even when an earlier one failed (the others' work is
    kept), and the lane fails if any did."""
    if len(commands) == 1:
        return commands[0]
    return "lane_rc=0; " + "; ".join(f"( {c} ) || lane_rc=1" for c in commands) + "; exit $lane_rc"


def _lane(commands: List[str], argvs: List[Optional[List[str]]]) -> str:
    """A lane's runs in one process (``skills.inference.lane``: the imports paid once) when each is a
    bare program, else one after the other in the shell."""
    if len(commands) > 1 and None not in argvs:
        one = lane_argv([a for a in argvs if a is not None])
        if one is not None:
            return shell_join(one)
    return lane_command(commands)


def pack(items: Sequence[T], num_jobs: int) -> List[List[T]]:
    """Deal items out contiguously: floor(total/num_jobs) each, the first ``total % num_jobs`` get one more."""
    total = len(items)
    if total == 0 or num_jobs == 0:
        return []
    n = total if num_jobs < 0 else min(num_jobs, total)
    base, extra = divmod(total, n)
    out, start = [], 0
    for i in range(n):
        size = base + (1 if i < extra else 0)
        out.append(list(items[start:start + size]))
        start += size
    return out


def apply_slurm(job: Job, cluster: ClusterConfig, slurm: SlurmOptions) -> Job:
    job.partition = slurm.partition or (None if not cluster.is_slurm else (
        cluster.cpu_partition if job.gpus == 0 and cluster.cpu_partition else cluster.partition))
    job.qos, job.time_min, job.exclusive = slurm.qos, slurm.time_min, slurm.exclusive
    job.sbatch_kwargs = dict(slurm.sbatch_kwargs)
    if cluster.is_slurm:
        job.time_limit = cluster.timeout_for(job.partition)
        job.container = job.container or cluster.containers.get("skills") or cluster.containers.get("nemo-skills")
    literal, names = cluster.job_env()
    job.env = {**literal, **job.env}
    job.secret_env = list(dict.fromkeys([*names, *job.secret_env]))
    return job


def chain(jobs: List[Job], dependent_jobs: int) -> Tuple[List[Job], Dict[str, str]]:
    """``--dependent_jobs D``: each job D more times, each copy after the previous one.

    Returns (all jobs, original name -> name of the last copy) so later stages depend on the last.
    """
    if dependent_jobs <= 0:
        return jobs, {j.name: j.name for j in jobs}
    out: List[Job] = []
    last: Dict[str, str] = {}
    for job in jobs:
        prev = job
        out.append(job)
        for i in range(1, dependent_jobs + 1):
            dup = copy.deepcopy(job)
            dup.name, dup.chain_index, dup.dependencies = f"{job.name}-dep{i}", i, [prev.name]
            out.append(dup)
            prev = dup
        last[job.name] = prev.name
    return out, last


MAX_LANES = 8  # commands of one API job running at once: each is a process (~50-80 MB); more add
# memory and start-up CPU, not throughput (the job's request slots are what limit it)


def job_concurrency(groups: List[List[str]], api: bool,
                    weights: Optional[List[int]] = None) -> Tuple[List[int], List[List[int]]]:
    """``++max_concurrent_requests`` as a limit on a whole job talking to an API (e.g. the HLE judge's
    8 seeds in one job): (per-command shares, lanes: the command indices each lane runs one after
    the other). A hosted server keeps the reference's per-command meaning, and so does a job with one
    command (one lane per command, no shares).

    The commands go to at most ``MAX_LANES`` lanes (never more than the limit), the largest first to
    the lane with the least work; each lane's share of the slots is in proportion to its work (rows x
    seeds: ``weights``, each command's rows; unknown: equal), at least one, so the lanes finish together
    and a lane's slots are handed on to its next command as one finishes. ``groups``: each command's
    tokens."""
    if not api or len(groups) < 2:
        return [], [[k] for k in range(len(groups))]
    limit = min(_requested(tokens) for tokens in groups)
    work = [max(1, w) for w in weights] if weights and len(weights) == len(groups) else [1] * len(groups)
    n = min(len(groups), limit, MAX_LANES)
    lanes: List[List[int]] = [[] for _ in range(n)]
    load = [0] * n
    for k in sorted(range(len(groups)), key=lambda k: (-work[k], k)):  # largest first, to the least loaded
        lane = min(range(n), key=lambda i: (load[i], i))
        lanes[lane].append(k)
        load[lane] += work[k]
    for lane in lanes:
        lane.sort()  # each lane runs its commands in plan order
    lanes.sort(key=lambda lane: lane[0])
    load = [sum(work[k] for k in lane) for lane in lanes]
    share = _apportion(limit, load)
    shares = [0] * len(groups)
    for lane, s in zip(lanes, share):
        for k in lane:
            shares[k] = s
    return shares, lanes


def _apportion(limit: int, load: List[int]) -> List[int]:
    """``limit`` slots split in proportion to ``load``, at least one each, summing to ``limit``
    (largest remainders; ``len(load) <= limit``)."""
    total = sum(load)
    exact = [limit * w / total for w in load]
    out = [max(1, int(x)) for x in exact]
    while sum(out) > limit:  # the minimum of one pushed the sum over: take from the largest
        out[max(range(len(out)), key=lambda i: (out[i], -i))] -= 1
    order = sorted(range(len(out)), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in order[: limit - sum(out)]:
        out[i] += 1
    return out


def run_rows(run: Run) -> Optional[int]:
    """Rows one run will send, from its input file where it can be read here (else None)."""
    values = {}
    for tok in [*run.io, *run.settings]:
        key, _, raw = tok.lstrip("+").partition("=")
        values[key] = raw
    src = values.get("input_file")
    if not src or not os.path.isfile(src):
        return None
    rows = _count_rows(src)
    chunks = values.get("num_chunks", "")
    if chunks.isdigit() and int(chunks) > 0:
        rows = -(-rows // int(chunks))
    cap = values.get("max_samples", "")
    if cap.isdigit() and int(cap) > 0:
        rows = min(rows, int(cap))
    return rows


@functools.lru_cache(maxsize=256)
def _count_rows(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def _requested(tokens: List[str]) -> int:
    value = 512  # GenerateConfig's default
    for tok in tokens:
        key, _, raw = tok.lstrip("+").partition("=")
        if key == "max_concurrent_requests" and raw.isdigit():
            value = int(raw)
    return max(value, 1)


MAX_NAME = 100  # longer job names are cut to 100 characters + "-name-cut"


def name_jobs(groups: List[List[Run]], prefix: str) -> List[str]:
    """``<prefix>-<bench>-rs<seed>-chunk<c>`` for a job of one run, ``<prefix>-<bench>-<bench>...`` for more;
    names made unique with ``-part<n>``."""
    names = []
    for g in groups:
        if len(g) == 1:
            e = g[0]
            name = f"{prefix}-{e.bench}" + (f"-rs{e.seed}" if e.seed is not None else "") + (
                f"-chunk{e.chunk}" if e.chunk is not None else "")
        else:
            name = f"{prefix}-" + "-".join(dict.fromkeys(e.bench for e in g))
        if len(name) > MAX_NAME:  # the reference's rule; log files are named after jobs (255-byte limit)
            name = name[:MAX_NAME] + "-name-cut"
        names.append(name)
    counts: Dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    seen: Dict[str, int] = {}
    out = []
    for n in names:
        if counts[n] > 1:
            seen[n] = seen.get(n, 0) + 1
            n = f"{n}-part{seen[n]}"
        out.append(n)
    return out


def build_jobs(groups: List[List[Run]], names: List[str], kind: str, server_opts: ServerOptions,
               cluster: ClusterConfig, slurm: SlurmOptions, ports: PortAllocator, log_dir: str, needed_env: set,
               data_dir: Optional[str] = None, sequential: bool = False) -> List[Job]:
    """One job per group of runs: its server, its sidecars, the runs side by side (``sequential``:
    one after the other)."""
    jobs = []
    for name, group in zip(names, groups):
        prefix = "SKILLS_JUDGE" if kind == "judge" else "SKILLS_SERVER"
        hosted = make_servers(server_opts, cluster, ports, prefix)  # --server_replicas of them
        server = hosted[0] if hosted else None
        client, secrets = client_overrides(server_opts, server, prefix, hosted[1:])
        needed_env.update(secrets)
        api = server is None and not sequential
        rows = [run_rows(r) for r in group] if api and len(group) > 1 else []
        shares, lanes = job_concurrency([[*r.io, *r.settings] for r in group], api,
                                        None if None in rows else rows)
        cmds, programs, argvs = [], [], []
        for i, r in enumerate(group):
            argv = r.argv(client, [f"++max_concurrent_requests={shares[i]}"] if shares else [])
            programs += [argv, r.merge] if r.merge else [argv]
            argvs.append(argv if not (r.pre or r.merge or r.post) else None)
            cmds.append(" && ".join(c for c in (r.pre, shell_join(argv), shell_join(r.merge) if r.merge else None,
                                                *r.post) if c))
        if sequential and len(cmds) > 1:  # --single_node_mode=sequential: one after the other
            cmds = [" && ".join(f"( {c} )" for c in cmds)]
        elif len(lanes) < len(cmds):  # more runs than lanes: each lane runs its runs one after the other
            cmds = [_lane([cmds[k] for k in lane], [argvs[k] for k in lane]) for lane in lanes]
        sidecars = make_sidecars([s for r in group for s in r.sidecars], cluster, ports, data_dir=data_dir)
        job = Job(
            name=name, kind=kind, commands=[parallel_command(cmds)], programs=programs, server=server,
            replicas=hosted[1:],
            sidecars=sidecars, benchmarks=list(dict.fromkeys(r.bench for r in group if r.bench)),
            gpus=server.gpus * len(hosted) if server else 0, nodes=server.nodes if server else 1,
            log_dir=log_dir, done_markers=[r.marker for r in group], secret_env=secrets,
            env={k: v for s in sidecars for k, v in s.client_env.items()},
        )
        jobs.append(apply_slurm(job, cluster, slurm))
    return jobs
