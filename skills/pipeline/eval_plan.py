"""``ns eval`` -> Plan: generation jobs (packed by ``--num_jobs``), judge jobs, one metrics job per benchmark.

Differences from the reference, on purpose (pipeline.md 7.1): the ``++server.*`` client arguments
come BEFORE the benchmark and user overrides (so users can override them), several evals in one
job fail the job when any fails (no bare ``wait``), the judge honours ``--starting_seed``, chunk ids
are validated and ports are checked free. Every ``++`` token is validated before a plan exists.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from skills.benchmarks import extra_datasets_dir, get_benchmark, is_builtin
from skills.benchmarks.base import BenchmarkSpec
from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.config.overrides import validate_overrides
from skills.pipeline.common import (
    PortAllocator, ServerOptions, SlurmOptions, apply_slurm, chain, check_expname, check_program,
    check_reserved, check_server_options, chunk_ids_for, client_overrides, default_data_dir, make_server,
    output_name, pack, parallel_command, program_command, seed_overrides,
)
from skills.pipeline.plan import Job, Plan

# Judge arguments of benchmarks without a judge of their own (any --judge_* option opts them in).
GENERIC_JUDGE_ARGS = ("++prompt_config=judge/generic", "++generation_key=judgement", "++add_generation_stats=False")


@dataclass
class JudgeOptions:
    model: Optional[str] = None
    server_type: Optional[str] = None
    server_address: Optional[str] = None
    server_gpus: Optional[int] = None
    server_nodes: Optional[int] = None
    server_args: Optional[str] = None
    extra_judge_args: str = ""

    @property
    def any_set(self) -> bool:
        return any(v is not None for v in (self.model, self.server_type, self.server_address,
                                           self.server_gpus, self.server_nodes, self.server_args))


@dataclass
class EvalOptions:
    output_dir: str
    benchmarks: str
    cluster: ClusterConfig
    server: ServerOptions
    judge: JudgeOptions = field(default_factory=JudgeOptions)
    slurm: SlurmOptions = field(default_factory=SlurmOptions)
    overrides: List[str] = field(default_factory=list)
    expname: str = "eval"
    data_dir: Optional[str] = None
    split: Optional[str] = None
    starting_seed: int = 0
    num_jobs: Optional[int] = None
    num_chunks: Optional[int] = None
    chunk_ids: Optional[str] = None
    log_dir: Optional[str] = None
    rerun_done: bool = False
    extra_datasets: Optional[str] = None
    with_sandbox: bool = False
    auto_summarize_results: bool = True


@dataclass
class Eval:
    """One (benchmark, seed, chunk) generation run."""

    bench: str
    seed: Optional[int]
    chunk: Optional[int]
    tokens: List[str]  # everything except the ++server.* tokens (known once the job's port is)
    output: str
    marker: str
    module: str
    merge: Optional[str] = None  # chunk merge command, appended after the generation


def parse_benchmarks(text: str) -> List[Tuple[str, Optional[int]]]:
    """``aime24:8,gpqa,hle:0`` -> [(name, count or None)]; spaces, bad counts, duplicates -> UsageError."""
    if not text or not text.strip():
        raise UsageError("--benchmarks is empty")
    if any(c.isspace() for c in text):
        raise UsageError(f"--benchmarks must not contain spaces: '{text}' (write e.g. aime24:8,gpqa:8)")
    out: List[Tuple[str, Optional[int]]] = []
    for item in text.split(","):
        if not item:
            raise UsageError(f"--benchmarks has an empty item: '{text}'")
        name, colon, count = item.partition(":")
        n: Optional[int] = None
        if colon:
            if not count.isdigit():
                raise UsageError(f"--benchmarks item '{item}': the number of samples must be an integer >= 0")
            n = int(count)
        if not name:
            raise UsageError(f"--benchmarks item '{item}' has no benchmark name")
        if name in [o[0] for o in out]:
            raise UsageError(f"benchmark '{name}' is listed twice in --benchmarks")
        out.append((name, n))
    return out


def _done(path: str) -> bool:
    return os.path.exists(path)


def _input_file(data_dir: str, name: str, split: str, cluster: ClusterConfig) -> str:
    path = os.path.join(data_dir, *name.split("."), f"{split}.jsonl")
    remote = cluster.is_slurm and cluster.ssh_tunnel is not None
    if not remote and not os.path.isfile(path):
        raise UsageError(
            f"input data for {name} not found: {path}; run `ns prepare_data {name} --data_dir {data_dir}`"
            " (or pass --data_dir)"
        )
    return path


def _judge_server(spec: BenchmarkSpec, j: JudgeOptions) -> ServerOptions:
    d = spec.judge
    opts = ServerOptions(
        server_type=d.server_type if d else None, model=d.model if d else None,
        server_address=d.server_address if d else None,
    )
    if j.server_gpus:
        opts.server_address = None
    for attr in ("model", "server_type", "server_address", "server_gpus", "server_args"):
        if getattr(j, attr) is not None:
            setattr(opts, attr, getattr(j, attr))
    if j.server_nodes is not None:
        opts.server_nodes = j.server_nodes
    opts.server_args = opts.server_args or ""
    if opts.server_type is None and not opts.hosted:
        opts.server_type = "openai"  # benchmarks without judge defaults: an API judge
    return opts


def _name_jobs(groups: List[List[Eval]], prefix: str) -> List[str]:
    names = []
    for g in groups:
        if len(g) == 1:
            e = g[0]
            name = f"{prefix}-{e.bench}" + (f"-rs{e.seed}" if e.seed is not None else "") + (
                f"-chunk{e.chunk}" if e.chunk is not None else "")
        else:
            name = f"{prefix}-" + "-".join(dict.fromkeys(e.bench for e in g))
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


def _build_jobs(
    groups: List[List[Eval]], names: List[str], kind: str, server_opts: ServerOptions, o: EvalOptions,
    ports: PortAllocator, log_dir: str, needed_env: set,
) -> List[Job]:
    jobs = []
    for name, group in zip(names, groups):
        server = make_server(server_opts, o.cluster, ports)
        client, secrets = client_overrides(server_opts, server)
        needed_env.update(secrets)
        cmds = []
        for e in group:
            cmd = program_command(e.module, [*e.tokens[:3], *client, *e.tokens[3:]])
            cmds.append(f"{cmd} && {e.merge}" if e.merge else cmd)
        job = Job(
            name=name, kind=kind, commands=[parallel_command(cmds)], server=server,
            benchmarks=list(dict.fromkeys(e.bench for e in group)),
            gpus=server.gpus if server else 0, nodes=server.nodes if server else 1,
            log_dir=log_dir, done_markers=[e.marker for e in group], secret_env=secrets,
        )
        jobs.append(apply_slurm(job, o.cluster, o.slurm))
    return jobs


def build_eval_plan(o: EvalOptions) -> Plan:
    """Validate everything and return the plan (nothing is written or started)."""
    cluster = o.cluster
    benches = parse_benchmarks(o.benchmarks)
    check_expname(o.expname)
    extra_datasets_dir(o.extra_datasets)  # a missing folder is an error even if unused
    check_server_options(o.server)
    if o.starting_seed < 0:
        raise UsageError("--starting_seed must be >= 0")
    if o.num_jobs is not None and (o.num_jobs == 0 or o.num_jobs < -1):
        raise UsageError(f"--num_jobs must be >= 1, or -1 for one job per run (got {o.num_jobs})")
    check_reserved(o.overrides, "the ++ arguments", "--output_dir/--data_dir")
    try:
        judge_extra = shlex.split(o.judge.extra_judge_args or "")
    except ValueError as exc:
        raise UsageError(f"--extra_judge_args {o.judge.extra_judge_args!r}: {exc}") from None
    check_reserved(judge_extra, "--extra_judge_args", "--output_dir/--data_dir")
    out = o.output_dir if cluster.is_slurm else os.path.abspath(o.output_dir)
    log_dir = o.log_dir or os.path.join(out, "eval-logs")
    data_dir = default_data_dir(o.data_dir)
    if not cluster.is_slurm:
        data_dir = os.path.abspath(data_dir)
    num_jobs = o.num_jobs if o.num_jobs is not None else (-1 if cluster.is_slurm else 1)
    plan = Plan(expname=o.expname, cluster=cluster.name, executor=cluster.executor, output_dir=out,
                log_dir=log_dir, run_after=list(o.slurm.run_after))
    if o.with_sandbox:
        plan.notes.append("--with_sandbox: no code sandbox is started (not supported yet)")

    user = validate_overrides(o.overrides, source="the command line")  # fail fast, once
    evals: List[Eval] = []
    judged: List[Tuple[BenchmarkSpec, List[Optional[int]], ServerOptions, List[str]]] = []
    sample_client, _ = client_overrides(o.server, None)
    for name, count in benches:
        spec = get_benchmark(name, o.extra_datasets)
        if spec.is_group:
            raise UsageError(f"benchmark group '{name}' is not supported yet; list its members instead")
        split = o.split or spec.eval_split
        input_file = _input_file(data_dir, name, split, cluster)
        n = spec.num_samples if count is None else count
        seeds: List[Optional[int]] = list(range(o.starting_seed, o.starting_seed + n)) if n > 0 else [None]
        num_chunks = o.num_chunks if o.num_chunks is not None else spec.num_chunks
        chunks = chunk_ids_for(num_chunks, o.chunk_ids)
        needs_judge = spec.judge is not None or o.judge.any_set
        gen_dir = os.path.join(out, "tmp-eval-results" if needs_judge else "eval-results", name)
        defaults = list(spec.default_overrides())
        # validate in command order: client, seed, benchmark defaults, user (user wins)
        validate_overrides([*sample_client, *seed_overrides(seeds[0]), *defaults, *o.overrides],
                           source=f"{name} defaults + command line")
        check_program([*sample_client, *seed_overrides(seeds[0]), *defaults, *o.overrides], name)
        defaults = validate_overrides(defaults, source=f"benchmark {name} defaults")
        done_seeds = []
        for seed in seeds:
            merged = os.path.join(gen_dir, output_name(seed))
            for chunk in chunks:
                path = os.path.join(gen_dir, output_name(seed, chunk))
                marker = path + ".done"
                if not o.rerun_done and (_done(marker) or _done(merged + ".done")):
                    done_seeds.append((seed, chunk))
                    continue
                chunk_toks = [f"++num_chunks={num_chunks}", f"++chunk_id={chunk}"] if chunk is not None else []
                merge = None
                if chunk is not None:
                    all_chunks = [os.path.join(gen_dir, output_name(seed, c)) for c in range(num_chunks or 0)]
                    merge = " ".join(shlex.quote(t) for t in
                                     ["python", "-m", "skills.inference.merge_chunks", merged, *all_chunks])
                tokens = [f"++input_file={input_file}", f"++output_file={merged}", "++skip_filled=True",
                          *seed_overrides(seed), *chunk_toks, *defaults, *user]
                evals.append(Eval(name, seed, chunk, tokens, path, marker, spec.generation_module, merge))
        if done_seeds:
            plan.notes.append(f"{name}: {len(done_seeds)} of {len(seeds) * len(chunks)} runs already done "
                              "(.done markers; --rerun_done to redo)")
        if needs_judge:
            jopts = _judge_server(spec, o.judge)
            check_server_options(jopts, "--judge_server", "--judge_model")
            jclient, _ = client_overrides(jopts, None)
            jdefaults = list(spec.judge.args) if spec.judge else list(GENERIC_JUDGE_ARGS)
            validate_overrides([*jclient, *jdefaults, *judge_extra], source=f"{name} judge arguments")
            check_program([*jclient, *jdefaults, *judge_extra], f"{name} judge")
            judged.append((spec, seeds, jopts, validate_overrides([*jdefaults, *judge_extra])))

    groups = pack(evals, num_jobs)
    needed_env: set = set()
    ports = PortAllocator(cluster)
    gen_jobs = _build_jobs(groups, _name_jobs(groups, o.expname), "generation", o.server, o, ports, log_dir,
                           needed_env)
    all_jobs, last = chain(gen_jobs, o.slurm.dependent_jobs)
    plan.jobs.extend(all_jobs)
    producers: Dict[Tuple[str, Optional[int]], List[str]] = {}
    for job, group in zip(gen_jobs, groups):
        for e in group:
            producers.setdefault((e.bench, e.seed), [])
            if last[job.name] not in producers[(e.bench, e.seed)]:
                producers[(e.bench, e.seed)].append(last[job.name])

    judge_jobs_of: Dict[str, List[str]] = {}
    for spec, seeds, jopts, jtokens in judged:
        name = spec.name
        jevals = []
        for seed in seeds:
            src = os.path.join(out, "tmp-eval-results", name, output_name(seed))
            dst = os.path.join(out, "eval-results", name, output_name(seed))
            if not o.rerun_done and _done(dst + ".done"):
                continue
            toks = [f"++input_file={src}", f"++output_file={dst}", "++skip_filled=True", *jtokens]
            jevals.append(Eval(name, seed, None, toks, dst, dst + ".done", "skills.inference.generate"))
        jgroups = pack(jevals, num_jobs)
        jnames = _name_jobs(jgroups, f"{o.expname}-{name}-judge")
        jnames = [n.replace(f"-judge-{name}", "-judge") for n in jnames]
        jjobs = _build_jobs(jgroups, jnames, "judge", jopts, o, ports, log_dir, needed_env)
        for job, group in zip(jjobs, jgroups):
            deps = [d for e in group for d in producers.get((name, e.seed), [])]
            job.dependencies = list(dict.fromkeys(deps))
        jall, jlast = chain(jjobs, o.slurm.dependent_jobs)
        plan.jobs.extend(jall)
        judge_jobs_of[name] = list(jlast.values())

    if o.auto_summarize_results:
        for name, _ in benches:
            if name in judge_jobs_of:
                deps = judge_jobs_of[name]
            else:
                deps = list(dict.fromkeys(d for (b, _s), ds in producers.items() if b == name for d in ds))
            results = os.path.join(out, "eval-results")
            argv = ["python", "-m", "skills.metrics.summarize", results, "--benchmarks", name,
                    "--save_metrics_path", os.path.join(results, name, "metrics.json")]
            if not is_builtin(name):
                argv += ["--metric_type", get_benchmark(name, o.extra_datasets).metrics_type]
            job = Job(name=f"{o.expname}-{name}-summarize-results", kind="metrics",
                      commands=[" ".join(shlex.quote(a) for a in argv)], dependencies=deps,
                      benchmarks=[name], log_dir=log_dir,
                      done_markers=[os.path.join(results, name, "metrics.json")])
            plan.jobs.append(apply_slurm(job, cluster, o.slurm))
    if not evals and not judge_jobs_of:
        plan.notes.append("All generations are done; nothing to generate (--rerun_done to redo).")
    plan.required_env = sorted(needed_env | {e.strip() for e in cluster.required_env_vars if "=" not in e})
    return plan


def missing_env(plan: Plan) -> List[str]:
    return [name for name in plan.required_env if not os.environ.get(name)]


def check_env(plan: Plan) -> None:
    """Keys the plan needs (OPENAI_API_KEY for an OpenAI judge, ...) must be set before anything runs."""
    missing = missing_env(plan)
    if missing:
        raise UsageError(f"environment variable(s) {', '.join(missing)} must be set to run this plan "
                         f"(needed by: {', '.join(_users(plan, missing))})")


def _users(plan: Plan, names: List[str]) -> List[str]:
    users = [j.name for j in plan.jobs if set(j.secret_env) & set(names)]
    return users[:3] + (["..."] if len(users) > 3 else []) or ["the cluster config"]


