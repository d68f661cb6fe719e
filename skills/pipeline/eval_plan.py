"""``ns eval`` -> Plan: generation jobs (packed by ``--num_jobs``), then per benchmark the judge,
grading, metrics and (for groups) group-metrics jobs built in ``skills.pipeline.stages``.

Differences from the reference, on purpose (pipeline.md 7.1): the ``++server.*`` client arguments
come BEFORE the benchmark and user overrides (so users can override them), several evals in one
job fail the job when any fails (no bare ``wait``), the judge honours ``--starting_seed``, chunk ids
are validated and ports are checked free. Every ``++`` token is validated before a plan exists,
against the schema of the generation module that will read it; the command line's tokens are
parsed once per module (``skills.pipeline.programs``).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.config.overrides import Override
from skills.config.secrets import move_secret_overrides
from skills.config.values import parse_json_kwargs
from skills.data import resolve_data_dir
from skills.evaluation import get_grader
from skills.inference.prompts import prompt_notice
from skills.pipeline import stages
from skills.pipeline.jobs import SlurmOptions, build_jobs, chain, check_expname, name_jobs, pack
from skills.pipeline.judge import JudgeOptions, judge_settings
from skills.pipeline.plan import Plan
from skills.pipeline.programs import Program, tokens
from skills.pipeline.prompts import prompt_set_for_plan, set_prompt_env
from skills.pipeline.runs import (
    Run, RunChecks, RunRequest, check_reserved, chunk_ids_for, output_name, plan_runs, seed_overrides,
)
from skills.pipeline.selection import (check_extra_datasets_type, check_grading_inputs, expand_groups, input_file,
                                      parse_benchmarks)
from skills.pipeline.servers import PortAllocator, ServerOptions, check_server_options, client_overrides
from skills.pipeline.wandb import wandb_secrets
from skills.registry.benchmarks import extra_datasets_dir
from skills.registry.spec import BenchmarkSpec


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
    wandb: Any = None  # skills.pipeline.wandb.WandbOptions
    extra_datasets_type: Optional[str] = None  # local | cluster


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
    judge: Any = None  # skills.pipeline.judge.Judge when judged
    manifest: Dict[str, Any] = field(default_factory=dict)  # what the run manifest records
    prompt_notice: Optional[str] = None  # set when the job would use our wording, not the reference's
    unrecorded: List[str] = field(default_factory=list)  # finished outputs that record no settings (older)
    inline_grader: Any = None  # the Grader when the generation program grades (``shared_pools`` may step it)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class EvalContext:
    """What every benchmark of one plan shares, decided once."""

    o: EvalOptions
    out: str  # the output folder (absolute here)
    log_dir: str
    data_dir: str
    judge_extra: List[str]
    client: List[str]  # an example of the ++server.* tokens (the real ones know the job's port)
    prompt_dir: str = ""  # where the jobs find the reference prompt set
    prompt_check: Optional[str] = None  # where plan-time checks look for it (skills.pipeline.prompts)
    # module -> (its program, the command line's tokens and the client tokens parsed for its schema)
    programs: Dict[str, Tuple[Program, List[Override], List[Override]]] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        """Outputs and data live on a cluster reached over ssh: nothing there is looked at from here."""
        return self.o.cluster.is_slurm and self.o.cluster.ssh_tunnel is not None

    def program(self, module: str) -> Tuple[Program, List[Override], List[Override]]:
        if module not in self.programs:
            program = Program(module)
            user = program.parse(self.o.overrides)
            program.check_order(user, "the command line")
            self.programs[module] = (program, user, program.parse(self.client))
        return self.programs[module]


def check_options(o: EvalOptions) -> List[Tuple[str, Optional[int]]]:
    """Option checks that need no benchmark; returns the parsed ``--benchmarks``."""
    benches = parse_benchmarks(o.benchmarks)
    check_expname(o.expname)
    extra_datasets_dir(o.extra_datasets)  # a missing folder is an error even if unused
    check_server_options(o.server)
    if o.single_node_mode not in ("parallel", "sequential"):
        raise UsageError(f"--single_node_mode must be parallel or sequential, not '{o.single_node_mode}'")
    check_extra_datasets_type(o.extra_datasets_type, o.cluster)
    parse_json_kwargs(o.metrics_kwargs, "--metrics_kwargs")  # a typo fails now, not in the metrics job
    if o.starting_seed < 0:
        raise UsageError("--starting_seed must be >= 0")
    if o.num_jobs is not None and (o.num_jobs == 0 or o.num_jobs < -1):
        raise UsageError(f"--num_jobs must be >= 1, or -1 for one job per run (got {o.num_jobs})")
    check_reserved(o.overrides, "the ++ arguments", "--output_dir/--data_dir")
    return benches


def _context(o: EvalOptions) -> Tuple[EvalContext, List[str], List[str]]:
    """(the shared context, secret NAMES moved out of the generation and of the judge arguments)."""
    try:
        judge_extra = shlex.split(o.judge.extra_judge_args or "")
    except ValueError as exc:
        raise UsageError(f"--extra_judge_args {o.judge.extra_judge_args!r}: {exc}") from None
    check_reserved(judge_extra, "--extra_judge_args", "--output_dir/--data_dir")
    o.overrides, moved = move_secret_overrides(o.overrides, "SKILLS_SERVER_API_KEY")
    judge_extra, judge_moved = move_secret_overrides(judge_extra, "SKILLS_JUDGE_API_KEY")
    cluster = o.cluster
    out = o.output_dir if cluster.is_slurm else os.path.abspath(o.output_dir)
    data_dir = resolve_data_dir(o.data_dir)
    if not cluster.is_slurm:
        data_dir = os.path.abspath(data_dir)
    ctx = EvalContext(o, out, o.log_dir or os.path.join(out, "eval-logs"), data_dir, judge_extra,
                      client_overrides(o.server, None)[0])
    return ctx, moved, judge_moved


def _grading(spec: BenchmarkSpec, cfg: Any, o: EvalOptions) -> Tuple[Any, bool, List[str], List[str]]:
    """(grader, graded in a step of its own, extra tokens, sidecars of the generation jobs)."""
    grader = get_grader(cfg.eval_type) if cfg.eval_type else None
    separate = grader is not None and grader.separate_step
    sidecars = list(spec.all_sidecars()) + (["sandbox"] if o.with_sandbox or getattr(cfg, "code_execution", False)
                                            else [])  # ++code_execution runs the model's code there
    if grader is not None and not separate:
        sidecars += list(grader.sidecars)
    return grader, separate, ["++skip_grading=True"] if separate else [], sidecars


def plan_bench(spec: BenchmarkSpec, count: Optional[int], ctx: EvalContext) -> Tuple[Bench, List[Run], Optional[str]]:
    """The generation runs of one benchmark still to do; (bench, runs, note about finished runs)."""
    o, name = ctx.o, spec.name
    split = o.split or spec.eval_split
    data = input_file(ctx.data_dir, name, split, o.cluster)
    n = spec.num_samples if count is None else count
    seeds: List[Optional[int]] = list(range(o.starting_seed, o.starting_seed + n)) if n > 0 else [None]
    num_chunks = o.num_chunks if o.num_chunks is not None else (spec.num_chunks or None)
    chunks = chunk_ids_for(num_chunks, o.chunk_ids)
    sub = [spec.group, name] if spec.group else [name]
    judged = spec.judge is not None or o.judge.any_set
    gen_dir = os.path.join(ctx.out, "tmp-eval-results" if judged else "eval-results", *sub)
    program, user, client = ctx.program(o.generation_module or spec.generation_module)
    # as the reference, graders learn the split and data folder (pipeline keys every grader accepts)
    defaults = program.parse([*spec.default_overrides(), f"++eval_config.split={split}",
                              f"++eval_config.data_dir={ctx.data_dir}"])
    # checked in command order: client, seed, benchmark defaults, user (user wins)
    probe = [*client, *program.parse(seed_overrides(seeds[0])), *defaults, *user]
    program.check_order(probe, f"{name} defaults + command line")
    cfg = program.config(probe, name, ctx.prompt_check)
    program.check_order(defaults, f"benchmark {name} defaults")
    grader, separate, extra, sidecars = _grading(spec, cfg, o)
    bench = Bench(spec, seeds, gen_dir, os.path.join(ctx.out, "eval-results", *sub),
                  grader if separate else None, cfg.eval_type, dict(cfg.eval_config), cfg.generation_key)
    bench.inline_grader = grader if not separate else None
    if ctx.prompt_check is not None:
        bench.prompt_notice = prompt_notice(cfg)
    settings = [*defaults, *user, *program.parse(extra)]
    runs, done, bench.unrecorded = plan_runs(RunRequest(
        label=name, program=program, out_dir=gen_dir, seeds=seeds, settings=settings, input_of=lambda seed: data,
        chunks=chunks, num_chunks=num_chunks, rerun_done=o.rerun_done, bench=name, sidecars=tuple(sidecars),
        checks=None if ctx.remote else RunChecks(client, ctx.prompt_check)))
    wandb = o.wandb
    for run in runs:
        if wandb is not None and wandb.log_samples and run.seed == seeds[0]:  # the first seed, as the reference
            merged = os.path.join(gen_dir, output_name(run.seed))
            run.post.append(wandb.samples_command(merged, o.expname, guard=run.chunk is not None))
    if runs and grader is not None and not separate:
        stages.check_environment(grader, o.cluster)  # graded inside the generation job
    if runs or separate:
        check_grading_inputs(spec, cfg.eval_config, ctx.data_dir, o.cluster)
    note = (f"{name}: {len(done)} of {len(seeds) * len(chunks)} runs already done (.done markers; --rerun_done to "
            "redo)") if done else None
    bench.manifest = {
        "split": split, "data": {"file": data}, "prompt_config": cfg.prompt_config,
        "examples_type": cfg.examples_type, "overrides": tokens(settings), "seeds": seeds,
        "model": o.server.model, "generation_module": program.module, "eval_type": cfg.eval_type,
        "metrics_type": spec.metrics_type,
        # only what this run writes: a finished file found (and kept) is not claimed
        "outputs": [path for path in (os.path.join(bench.result_dir, output_name(s)) for s in seeds)
                    if o.rerun_done or not os.path.exists(path + ".done")],
    }
    return bench, runs, note


def _plan_benches(specs: List[Tuple[BenchmarkSpec, Optional[int]]], ctx: EvalContext,
                  plan: Plan) -> Tuple[List[Bench], List[Run]]:
    o = ctx.o
    notice_check = ctx.prompt_check if ctx.prompt_check == ctx.prompt_dir else None  # remote set: cannot tell
    planned: List[Bench] = []
    runs: List[Run] = []
    for spec, count in specs:
        bench, bench_runs, note = plan_bench(spec, count, ctx)
        if note:
            plan.notes.append(note)
        if bench.prompt_notice and notice_check:
            plan.notes.append(f"{spec.name}: {bench.prompt_notice}")
        if spec.judge is not None or o.judge.any_set:
            bench.judge = judge_settings(spec, o.judge, ctx.judge_extra, ctx.prompt_check,
                                         plan if notice_check else None)
        planned.append(bench)
        plan.manifest[spec.name] = bench.manifest
        runs.extend(bench_runs)
    unrecorded = [b.name for b in planned if b.unrecorded]
    if unrecorded:  # said once per plan
        count = sum(len(b.unrecorded) for b in planned)
        plan.notes.append(f"{count} finished output{'s' if count > 1 else ''} of {', '.join(unrecorded)} record no "
                          "settings (made by an earlier version): not checked against this run's settings")
    return planned, runs


def _num_jobs(o: EvalOptions) -> int:
    return o.num_jobs if o.num_jobs is not None else (-1 if o.cluster.is_slurm else 1)


def shared_pools(benches: List[Bench], runs: List[Run], o: EvalOptions) -> None:
    """Benchmarks graded with a process pool (``Grader.runs == "pool"``: math) whose files share a
    generation job with other files of such a grader get a grading step: one pool for all those
    files after generation, not one pool (and its sympy workers) per file inside each command. A job
    with one such file keeps grading it inside the generation program (as the reference)."""
    by_name = {b.name: b for b in benches}

    def pooled(run: Run) -> bool:
        bench = by_name.get(run.bench or "")
        return bench is not None and bench.inline_grader is not None and bench.inline_grader.runs == "pool"

    stepped = set()
    for group in pack(runs, _num_jobs(o)):
        shared = [r for r in group if pooled(r)]
        if len(shared) > 1:
            stepped.update(r.bench for r in shared)
    for name in stepped:
        bench = by_name[name]
        bench.grader, bench.inline_grader = bench.inline_grader, None
    for run in runs:
        if run.bench in stepped:
            run.settings.append("++skip_grading=True")


def _generation_jobs(runs: List[Run], ctx: EvalContext, plan: Plan, ports: PortAllocator,
                     needed_env: set) -> Dict[Tuple[str, Optional[int]], List[str]]:
    """The generation jobs (in ``plan``); returns (benchmark, seed) -> the jobs producing its file."""
    o = ctx.o
    groups = pack(runs, _num_jobs(o))
    gen_jobs = build_jobs(groups, name_jobs(groups, o.expname), "generation", o.server, o.cluster, o.slurm, ports,
                          ctx.log_dir, needed_env, ctx.data_dir, sequential=o.single_node_mode == "sequential")
    all_jobs, last = chain(gen_jobs, o.slurm.dependent_jobs)
    plan.jobs.extend(all_jobs)
    producers: Dict[Tuple[str, Optional[int]], List[str]] = {}
    for job, group in zip(gen_jobs, groups):
        for r in group:
            names = producers.setdefault((r.bench or "", r.seed), [])
            if last[job.name] not in names:
                names.append(last[job.name])
    return producers


def build_eval_plan(o: EvalOptions) -> Plan:
    """Validate everything and return the plan (nothing is written or started)."""
    benches = check_options(o)
    ctx, moved, judge_moved = _context(o)
    cluster = o.cluster
    plan = Plan(expname=o.expname, cluster=cluster.name, executor=cluster.executor, output_dir=ctx.out,
                log_dir=ctx.log_dir, run_after=list(o.slurm.run_after))
    specs, groups = expand_groups(benches, o.extra_datasets, ctx.data_dir, look=not ctx.remote, notes=plan.notes)
    ctx.prompt_dir, ctx.prompt_check = prompt_set_for_plan(ctx.data_dir, cluster)
    planned, runs = _plan_benches(specs, ctx, plan)
    needed_env: set = set()
    ports = PortAllocator(cluster)
    shared_pools(planned, runs, o)
    producers = _generation_jobs(runs, ctx, plan, ports, needed_env)
    stages.add_later_stages(plan, planned, groups, producers, o, ports, ctx.log_dir, needed_env)
    for job in plan.jobs:  # keys given by value travel by name (skills.config.secrets)
        extra = moved if job.kind == "generation" else judge_moved if job.kind == "judge" else []
        job.secret_env = list(dict.fromkeys([*job.secret_env, *extra]))
    needed_env.update(moved, judge_moved)
    set_prompt_env(plan.jobs, ctx.prompt_dir)
    if o.wandb is not None and (o.wandb.wandb_name or o.wandb.log_samples):
        wandb_secrets(j for j in plan.jobs if j.kind in ("metrics", "generation"))
    if not runs and not any(j.kind in ("judge", "grading") for j in plan.jobs):
        plan.notes.append("All generations are done; nothing to generate (--rerun_done to redo).")
    plan.required_env = sorted(needed_env | {e.strip() for e in cluster.required_env_vars if "=" not in e})
    return plan
