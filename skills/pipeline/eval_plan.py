"""``ns eval`` -> Plan: generation jobs (packed by ``--num_jobs``), then per benchmark the judge,
grading, metrics and (for groups) group-metrics jobs built in ``skills.pipeline.stages``.

Differences from the reference, on purpose (pipeline.md 7.1): the ``++server.*`` client arguments
come BEFORE the benchmark and user overrides (so users can override them), several evals in one
job fail the job when any fails (no bare ``wait``), the judge honours ``--starting_seed``, chunk ids
are validated and ports are checked free. Every ``++`` token is validated before a plan exists,
against the schema of the generation module that will read it.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from skills.registry.benchmarks import extra_datasets_dir, get_benchmark, group_members
from skills.registry.spec import BenchmarkSpec
from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.config.overrides import validate_overrides
from skills.config.secrets import move_secret_overrides
from skills.pipeline.common import (
    PortAllocator, ServerOptions, SlurmOptions, apply_slurm, chain, check_expname, check_program,
    check_input, check_reserved, check_resume, check_server_options, chunk_ids_for, client_overrides, default_data_dir,
    make_server, output_name, pack, parallel_command, parse_json_kwargs, program_argv, prompt_set_for_plan,
    seed_overrides, set_prompt_env, shell_join,
)
from skills.pipeline.compat import check_extra_datasets_type, job_concurrency
from skills.pipeline.plan import Job, Plan
from skills.pipeline.sidecars import make_sidecars


JUDGE_KWARGS = ("model", "server_type", "server_address", "server_gpus", "server_nodes", "server_args",
                "server_entrypoint", "server_container", "generation_type", "generation_module")


@dataclass
class JudgeOptions:
    model: Optional[str] = None
    server_type: Optional[str] = None
    server_address: Optional[str] = None
    server_gpus: Optional[int] = None
    server_nodes: Optional[int] = None
    server_args: Optional[str] = None
    extra_judge_args: str = ""
    server_entrypoint: Optional[str] = None
    server_container: Optional[str] = None
    generation_module: Optional[str] = None
    pipeline: Dict[str, Any] = field(default_factory=dict)  # --judge_pipeline_kwargs, applied last

    @classmethod
    def from_server(cls, values: Dict[str, Any], extra_judge_args: str = "",
                    pipeline_kwargs: Optional[str] = None) -> "JudgeOptions":
        """From the ``--judge_*`` options (None = not given) and ``--judge_pipeline_kwargs`` (JSON)."""
        from skills.pipeline.common import parse_json_kwargs
        from skills.pipeline.compat import generation_module

        pipeline = parse_json_kwargs(pipeline_kwargs, "--judge_pipeline_kwargs")
        unknown = [k for k in pipeline if k not in JUDGE_KWARGS]
        if unknown:
            raise UsageError(f"--judge_pipeline_kwargs: unknown key '{unknown[0]}' (known: {', '.join(JUDGE_KWARGS)})")
        if "generation_type" in pipeline or "generation_module" in pipeline:
            pipeline["generation_module"] = generation_module(pipeline.pop("generation_type", None),
                                                              pipeline.get("generation_module"), "--judge_generation")
        return cls(values.get("model"), values.get("server_type"), values.get("server_address"),
                   values.get("server_gpus"), values.get("server_nodes"), values.get("server_args"),
                   extra_judge_args or "", values.get("server_entrypoint"), values.get("server_container"),
                   values.get("generation_module"), pipeline)

    @property
    def any_set(self) -> bool:
        """Any ``--judge_*`` option given: every benchmark gets a judge step (as in the reference)."""
        return any(v is not None for v in (self.model, self.server_type, self.server_address,
                                           self.server_gpus, self.server_nodes, self.server_args,
                                           self.server_entrypoint, self.server_container, self.generation_module))


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
    generation_module: Optional[str] = None  # overrides every benchmark's module
    single_node_mode: str = "parallel"  # evals packed into one job: parallel | sequential
    metrics_kwargs: Optional[str] = None  # JSON for the metric classes, forwarded to the metrics jobs
    wandb: Any = None  # skills.pipeline.compat.WandbOptions
    extra_datasets_type: Optional[str] = None  # local | cluster


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
    merge: Optional[List[str]] = None  # chunk merge argv, run after the generation
    sidecars: Tuple[str, ...] = ()
    post: Optional[str] = None  # e.g. --log_samples upload, after the merge


@dataclass
class Bench:
    """One benchmark to evaluate, after group expansion, with what every later stage needs."""

    spec: BenchmarkSpec
    seeds: List[Optional[int]]
    gen_dir: str  # where generations go (tmp-eval-results/... when judged)
    result_dir: str  # eval-results/[<group>/]<name>
    grader: Any = None  # the Grader when grading is a step of its own, else None
    eval_type: Optional[str] = None  # as given (a registry name or a module:attribute path)
    eval_config: Dict[str, Any] = field(default_factory=dict)
    generation_key: str = "generation"
    judge: Any = None  # (ServerOptions, tokens) when judged
    manifest: Dict[str, Any] = field(default_factory=dict)  # what the run manifest records
    prompt_notice: Optional[str] = None  # set when the job would use our wording, not the reference's

    @property
    def name(self) -> str:
        return self.spec.name


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


def expand_groups(benches: List[Tuple[str, Optional[int]]], extra_datasets: Optional[str],
                  data_dir: str) -> Tuple[List[Tuple[BenchmarkSpec, Optional[int]]], Dict[str, BenchmarkSpec]]:
    """Benchmark specs in order with groups replaced by their members; the groups by name."""
    out: List[Tuple[BenchmarkSpec, Optional[int]]] = []
    groups: Dict[str, BenchmarkSpec] = {}
    for name, count in benches:
        spec = get_benchmark(name, extra_datasets, data_dir)
        if spec.is_group:
            groups[name] = spec
            out.extend((m, count) for m in group_members(spec, extra_datasets, data_dir))
        else:
            out.append((spec, count))
    seen = set()
    for spec, _ in out:
        if spec.name in seen:
            raise UsageError(f"benchmark '{spec.name}' is listed twice (directly and through its group)")
        seen.add(spec.name)
    return out, groups


def _input_file(data_dir: str, name: str, split: str, cluster: ClusterConfig) -> str:
    path = os.path.join(data_dir, *name.split("."), f"{split}.jsonl")
    remote = cluster.is_slurm and cluster.ssh_tunnel is not None
    if not remote and not os.path.isfile(path):
        raise UsageError(
            f"input data for {name} not found: {path}; run `ns prepare_data {name.split('.')[0]} "
            f"--data_dir {data_dir}` (or pass --data_dir)"
        )
    if not remote and not _has_rows(path):
        raise UsageError(f"input data for {name} is empty: {path}; prepare it again "
                         f"(`ns prepare_data {name.split('.')[0]} --data_dir {data_dir}`)")
    return path


def _has_rows(path: str) -> bool:
    with open(path, "rb") as fh:
        return any(line.strip() for line in fh)


MAX_NAME = 100  # longer job names are cut to 100 characters + "-name-cut"


def _name_jobs(groups: List[List[Eval]], prefix: str) -> List[str]:
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


def build_jobs(groups: List[List[Eval]], names: List[str], kind: str, server_opts: ServerOptions,
               o: EvalOptions, ports: PortAllocator, log_dir: str, needed_env: set,
               data_dir: Optional[str] = None) -> List[Job]:
    """One job per group of evals: its server, its sidecars, the evals run side by side."""
    jobs = []
    for name, group in zip(names, groups):
        prefix = "SKILLS_JUDGE" if kind == "judge" else "SKILLS_SERVER"
        server = make_server(server_opts, o.cluster, ports, prefix)
        client, secrets = client_overrides(server_opts, server, prefix)
        needed_env.update(secrets)
        sequential = getattr(o, "single_node_mode", "parallel") == "sequential"
        shares, lanes = job_concurrency([e.tokens for e in group], server is None and not sequential)
        cmds, programs = [], []
        for i, e in enumerate(group):
            extra = [f"++max_concurrent_requests={shares[i % lanes]}"] if shares else []
            argv = program_argv(e.module, [*e.tokens[:3], *client, *e.tokens[3:], *extra])
            programs += [argv, e.merge] if e.merge else [argv]
            cmds.append(" && ".join(c for c in (shell_join(argv), shell_join(e.merge) if e.merge else None, e.post)
                                    if c))
        if sequential and len(cmds) > 1:  # --single_node_mode=sequential: one after the other
            cmds = [" && ".join(f"( {c} )" for c in cmds)]
        elif lanes < len(cmds):  # fewer requests allowed than evals: run them in `lanes` sequential lanes
            cmds = [" && ".join(f"( {c} )" for c in cmds[k::lanes]) for k in range(lanes)]
        sidecars = make_sidecars([s for e in group for s in e.sidecars], o.cluster, ports, data_dir=data_dir)
        job = Job(
            name=name, kind=kind, commands=[parallel_command(cmds)], programs=programs, server=server,
            sidecars=sidecars,
            benchmarks=list(dict.fromkeys(e.bench for e in group)),
            gpus=server.gpus if server else 0, nodes=server.nodes if server else 1,
            log_dir=log_dir, done_markers=[e.marker for e in group], secret_env=secrets,
            env={k: v for s in sidecars for k, v in s.client_env.items()},
        )
        jobs.append(apply_slurm(job, o.cluster, o.slurm))
    return jobs


def _plan_bench(spec: BenchmarkSpec, count: Optional[int], o: EvalOptions, out: str, data_dir: str,
                sample_client: List[str], prompt_check: Optional[str] = None) -> Tuple[Bench, List[Eval], Optional[str]]:
    """The generation runs of one benchmark still to do; (bench, evals, note about finished runs)."""
    from skills.evaluation import get_grader
    from skills.inference.task import task_of
    from skills.pipeline.stages import check_environment

    name = spec.name
    split = o.split or spec.eval_split
    input_file = _input_file(data_dir, name, split, o.cluster)
    n = spec.num_samples if count is None else count
    seeds: List[Optional[int]] = list(range(o.starting_seed, o.starting_seed + n)) if n > 0 else [None]
    num_chunks = o.num_chunks if o.num_chunks is not None else (spec.num_chunks or None)
    chunks = chunk_ids_for(num_chunks, o.chunk_ids)
    needs_judge = spec.judge is not None or o.judge.any_set
    sub = [spec.group, name] if spec.group else [name]
    gen_dir = os.path.join(out, "tmp-eval-results" if needs_judge else "eval-results", *sub)
    module = o.generation_module or spec.generation_module
    schema = task_of(module).config_class  # the module's own ++ schema
    # as the reference, graders learn the split and data folder (pipeline keys every grader accepts)
    defaults = [*spec.default_overrides(), f"++eval_config.split={split}", f"++eval_config.data_dir={data_dir}"]
    user = validate_overrides(o.overrides, schema, source="the command line")
    # validate in command order: client, seed, benchmark defaults, user (user wins)
    probe = [*sample_client, *seed_overrides(seeds[0]), *defaults, *user]
    validate_overrides(probe, schema, source=f"{name} defaults + command line")
    cfg = check_program(probe, name, module, prompt_check)
    defaults = validate_overrides(defaults, schema, source=f"benchmark {name} defaults")
    grader = get_grader(cfg.eval_type) if cfg.eval_type else None
    separate = grader is not None and grader.separate_step
    extra = ["++skip_grading=True"] if separate else []
    sidecars = list(spec.all_sidecars()) + (["sandbox"] if o.with_sandbox else [])
    if grader is not None and not separate:
        sidecars += list(grader.sidecars)
    bench = Bench(spec, seeds, gen_dir, os.path.join(out, "eval-results", *sub),
                  grader if separate else None, cfg.eval_type, dict(cfg.eval_config), cfg.generation_key)
    if prompt_check is not None:
        from skills.inference.prompts import prompt_notice

        bench.prompt_notice = prompt_notice(cfg)
    evals, done = [], 0
    remote = o.cluster.is_slurm and o.cluster.ssh_tunnel is not None  # the outputs are on the cluster
    for seed in seeds:
        merged = os.path.join(gen_dir, output_name(seed))
        for chunk in chunks:
            path = os.path.join(gen_dir, output_name(seed, chunk))
            marker = path + ".done"
            if not o.rerun_done and (os.path.exists(marker) or os.path.exists(merged + ".done")):
                done += 1
                continue
            chunk_toks = [f"++num_chunks={num_chunks}", f"++chunk_id={chunk}"] if chunk is not None else []
            merge = None
            if chunk is not None:
                all_chunks = [os.path.join(gen_dir, output_name(seed, c)) for c in range(num_chunks or 0)]
                merge = ["python", "-m", "skills.inference.merge_chunks", merged, *all_chunks]
            tokens = [f"++input_file={input_file}", f"++output_file={merged}",
                      f"++skip_filled={not o.rerun_done}",  # a rerun regenerates (old files kept aside)
                      *seed_overrides(seed), *chunk_toks, *defaults, *user, *extra]
            if not o.rerun_done and not remote:
                check_resume([*tokens[:3], *sample_client, *tokens[3:]], name, module, prompt_check, path)
            post = None
            wandb = getattr(o, "wandb", None)
            if wandb is not None and wandb.log_samples and seed == seeds[0]:  # the first seed, as the reference
                post = wandb.samples_command(merged, o.expname, guard=chunk is not None)
            evals.append(Eval(name, seed, chunk, tokens, path, marker, module, merge, tuple(sidecars), post))
    if evals and not remote:
        check_input([f"++input_file={input_file}", *probe], name, module, prompt_check)
    if evals and grader is not None and not separate:
        check_environment(grader, o.cluster)  # graded inside the generation job
    note = (f"{name}: {done} of {len(seeds) * len(chunks)} runs already done (.done markers; --rerun_done to "
            "redo)") if done else None
    bench.manifest = {
        "split": split, "data": {"file": input_file}, "prompt_config": cfg.prompt_config,
        "examples_type": cfg.examples_type, "overrides": [*defaults, *user, *extra], "seeds": seeds,
        "model": o.server.model, "generation_module": module, "eval_type": cfg.eval_type,
        "metrics_type": spec.metrics_type,
        "outputs": [os.path.join(bench.result_dir, output_name(s)) for s in seeds],
    }
    return bench, evals, note


def build_eval_plan(o: EvalOptions) -> Plan:
    """Validate everything and return the plan (nothing is written or started)."""
    from skills.pipeline import stages

    cluster = o.cluster
    benches = parse_benchmarks(o.benchmarks)
    check_expname(o.expname)
    extra_datasets_dir(o.extra_datasets)  # a missing folder is an error even if unused
    check_server_options(o.server)
    if o.single_node_mode not in ("parallel", "sequential"):
        raise UsageError(f"--single_node_mode must be parallel or sequential, not '{o.single_node_mode}'")
    check_extra_datasets_type(o.extra_datasets_type, cluster)
    parse_json_kwargs(o.metrics_kwargs, "--metrics_kwargs")  # a typo fails now, not in the metrics job
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
    o.overrides, moved = move_secret_overrides(o.overrides, "SKILLS_SERVER_API_KEY")
    judge_extra, judge_moved = move_secret_overrides(judge_extra, "SKILLS_JUDGE_API_KEY")
    out = o.output_dir if cluster.is_slurm else os.path.abspath(o.output_dir)
    log_dir = o.log_dir or os.path.join(out, "eval-logs")
    data_dir = default_data_dir(o.data_dir)
    if not cluster.is_slurm:
        data_dir = os.path.abspath(data_dir)
    num_jobs = o.num_jobs if o.num_jobs is not None else (-1 if cluster.is_slurm else 1)
    plan = Plan(expname=o.expname, cluster=cluster.name, executor=cluster.executor, output_dir=out,
                log_dir=log_dir, run_after=list(o.slurm.run_after))

    specs, groups = expand_groups(benches, o.extra_datasets, data_dir)
    sample_client, _ = client_overrides(o.server, None)
    prompt_dir, prompt_check = prompt_set_for_plan(data_dir, cluster)
    notice_check = prompt_check if prompt_check == prompt_dir else None  # remote set: cannot tell from here
    planned: List[Bench] = []
    evals: List[Eval] = []
    for spec, count in specs:
        bench, bench_evals, note = _plan_bench(spec, count, o, out, data_dir, sample_client, prompt_check)
        if note:
            plan.notes.append(note)
        if bench.prompt_notice and notice_check:
            plan.notes.append(f"{spec.name}: {bench.prompt_notice}")
        if spec.judge is not None or o.judge.any_set:
            bench.judge = stages.judge_settings(spec, o.judge, judge_extra, prompt_check, plan if notice_check else None)
        planned.append(bench)
        plan.manifest[spec.name] = bench.manifest
        evals.extend(bench_evals)

    jgroups = pack(evals, num_jobs)
    needed_env: set = set()
    ports = PortAllocator(cluster)
    gen_jobs = build_jobs(jgroups, _name_jobs(jgroups, o.expname), "generation", o.server, o, ports, log_dir,
                          needed_env, data_dir)
    all_jobs, last = chain(gen_jobs, o.slurm.dependent_jobs)
    plan.jobs.extend(all_jobs)
    producers: Dict[Tuple[str, Optional[int]], List[str]] = {}
    for job, group in zip(gen_jobs, jgroups):
        for e in group:
            names = producers.setdefault((e.bench, e.seed), [])
            if last[job.name] not in names:
                names.append(last[job.name])
    stages.add_later_stages(plan, planned, groups, producers, o, ports, log_dir, needed_env)
    for job in plan.jobs:  # keys given by value travel by name (skills.config.secrets)
        extra = moved if job.kind == "generation" else judge_moved if job.kind == "judge" else []
        job.secret_env = list(dict.fromkeys([*job.secret_env, *extra]))
    needed_env.update(moved, judge_moved)
    set_prompt_env(plan.jobs, prompt_dir)
    if o.wandb is not None and (o.wandb.wandb_name or o.wandb.log_samples):
        from skills.pipeline.compat import wandb_secrets

        wandb_secrets(j for j in plan.jobs if j.kind in ("metrics", "generation"))
    if not evals and not any(j.kind in ("judge", "grading") for j in plan.jobs):
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
