"""``ns generate`` -> Plan: one job per remaining (seed, chunk), outputs ``<out>/output[-rsS].jsonl``.

The runs come from the run planner ``ns eval`` uses (``skills.pipeline.runs``); only the input differs:
a file, a folder of a previous run's seed files (``--input_dir``, greedy), or a prepared benchmark.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.config.secrets import move_secret_overrides
from skills.config.values import parse_ids
from skills.data import resolve_data_dir
from skills.evaluation import get_grader
from skills.inference.prompts import prompt_notice
from skills.pipeline.jobs import SlurmOptions, build_jobs, chain, check_expname
from skills.pipeline.plan import Plan
from skills.pipeline.programs import DEFAULT_MODULE, Program, tokens
from skills.pipeline.prompts import prompt_set_for_plan, set_prompt_env
from skills.pipeline.runs import (
    Run, RunChecks, RunRequest, check_reserved, chunk_ids_for, output_name, plan_runs, seed_overrides,
)
from skills.pipeline.servers import PortAllocator, ServerOptions, check_server_options, client_overrides
from skills.pipeline.wandb import wandb_secrets
from skills.registry.benchmarks import extra_datasets_dir, get_benchmark


@dataclass
class GenerateOptions:
    output_dir: str
    cluster: ClusterConfig
    server: ServerOptions
    slurm: SlurmOptions = field(default_factory=SlurmOptions)
    overrides: List[str] = field(default_factory=list)
    input_file: Optional[str] = None
    input_dir: Optional[str] = None
    benchmark: Optional[str] = None
    data_dir: Optional[str] = None
    split: Optional[str] = None
    extra_datasets: Optional[str] = None
    expname: str = "generate"
    num_random_seeds: Optional[int] = None
    random_seeds: Optional[str] = None
    starting_seed: int = 0
    num_chunks: Optional[int] = None
    chunk_ids: Optional[str] = None
    log_dir: Optional[str] = None
    rerun_done: bool = False
    with_sandbox: bool = False
    generation_module: Optional[str] = None
    preprocess_cmd: Optional[str] = None  # shell, before the generation ({random_seed} filled)
    postprocess_cmd: Optional[str] = None  # shell, after it
    wandb: Any = None  # skills.pipeline.wandb.WandbOptions (--log_samples)


@dataclass
class Source:
    """What ``ns generate`` reads: an input file (or none: the user's ``++input_file``), with the
    benchmark's defaults when it is one."""

    input_file: Optional[str] = None
    defaults: List[str] = field(default_factory=list)
    module: str = DEFAULT_MODULE
    sidecars: List[str] = field(default_factory=list)
    data_dir: Optional[str] = None


def _seeds(o: GenerateOptions) -> List[Optional[int]]:
    if o.num_random_seeds is not None and o.random_seeds is not None:
        raise UsageError("give --num_random_seeds or --random_seeds, not both")
    if o.random_seeds is not None:
        return list(parse_ids(o.random_seeds, "random_seeds") or [])
    if o.num_random_seeds is not None:
        if o.num_random_seeds < 0:
            raise UsageError("--num_random_seeds must be >= 0")
        return list(range(o.starting_seed, o.starting_seed + o.num_random_seeds)) or [None]
    return [None]


def _shell(template: Optional[str], seed: Optional[int]) -> Optional[str]:
    """``--preprocess_cmd``/``--postprocess_cmd`` with ``{random_seed}`` filled (str.format, as the reference)."""
    if not template:
        return None
    try:
        return f"( {template.format(random_seed=seed)} )"
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(f"--preprocess_cmd/--postprocess_cmd {template!r}: only {{random_seed}} can be filled "
                         f"({exc}); double other braces") from None


def _source(o: GenerateOptions) -> Source:
    """The input (the file or benchmark given, with its defaults), checked to exist."""
    src = Source(o.input_file, module=o.generation_module or DEFAULT_MODULE,
                 sidecars=["sandbox"] if o.with_sandbox else [])
    if o.benchmark:
        src.data_dir = resolve_data_dir(o.data_dir)
        spec = get_benchmark(o.benchmark, o.extra_datasets, src.data_dir)
        if spec.is_group:
            raise UsageError(f"--benchmark {o.benchmark} is a group; ns generate takes one member "
                             f"(e.g. {spec.name}.{spec.members[0].split('.')[-1] if spec.members else '<member>'})")
        src.input_file = os.path.join(src.data_dir, *o.benchmark.split("."), f"{o.split or spec.eval_split}.jsonl")
        src.defaults = list(spec.default_overrides())
        src.module = o.generation_module or spec.generation_module
        src.sidecars += list(spec.all_sidecars())
    cluster = o.cluster
    if src.input_file and not (cluster.is_slurm and cluster.ssh_tunnel) and not os.path.isfile(src.input_file):
        raise UsageError(f"input file not found: {src.input_file}")
    return src


def _plan_runs(o: GenerateOptions, src: Source, out: str, seeds: List[Optional[int]], chunks: List[Optional[int]],
               plan: Plan) -> Tuple[List[Run], Any, List[str], List[str], str]:
    """(runs still to do, the config the first one sees, defaults and user tokens, prompt set dir)."""
    cluster = o.cluster
    program = Program(src.module)
    client = program.parse(client_overrides(o.server, None)[0])
    defaults, user = program.parse(src.defaults), program.parse(o.overrides)
    probe = [*client, *program.parse(seed_overrides(seeds[0])), *defaults, *user]
    program.check_order(probe, "the command line")
    pdata = resolve_data_dir(o.data_dir)
    prompt_dir, prompt_check = prompt_set_for_plan(pdata if cluster.is_slurm else os.path.abspath(pdata), cluster)
    cfg = program.config(probe, "ns generate", prompt_check)
    if cfg.eval_type:
        src.sidecars += list(get_grader(cfg.eval_type).sidecars)
    if getattr(cfg, "code_execution", False) and "sandbox" not in src.sidecars:
        src.sidecars.append("sandbox")  # ++code_execution runs the model's code there
    program.check_order(user)
    program.check_order(defaults)
    if prompt_check == prompt_dir:
        notice = prompt_notice(cfg)
        if notice:
            plan.notes.append(notice)
    remote = cluster.is_slurm and cluster.ssh_tunnel
    runs, done, unrecorded = plan_runs(RunRequest(
        label="ns generate", program=program, out_dir=out, seeds=seeds, settings=[*defaults, *user],
        input_of=lambda seed: os.path.join(o.input_dir, output_name(seed)) if o.input_dir else src.input_file,
        chunks=chunks, num_chunks=o.num_chunks,
        sampling=not o.input_dir,  # input_dir: greedy, like the reference
        rerun_done=o.rerun_done, sidecars=tuple(src.sidecars),
        checks=None if remote else RunChecks(client, prompt_check)))
    plan.notes.extend(f"{os.path.basename(path)} already done" for path in done)
    if unrecorded:
        plan.notes.append(f"{len(unrecorded)} finished output{'s' if len(unrecorded) > 1 else ''} in {out} record no "
                          "settings (made by an earlier version): not checked against this run's settings")
    for run in runs:
        run.pre = _shell(o.preprocess_cmd, run.seed)
        run.post += [c for c in [_shell(o.postprocess_cmd, run.seed)] if c]
        if o.wandb is not None and o.wandb.log_samples and run.seed == seeds[0]:
            merged = os.path.join(out, output_name(run.seed))
            run.post.append(o.wandb.samples_command(merged, o.expname, guard=run.chunk is not None))
    return runs, cfg, tokens(defaults), tokens(user), prompt_dir


def build_generate_plan(o: GenerateOptions) -> Plan:
    cluster = o.cluster
    check_server_options(o.server)
    check_expname(o.expname)
    extra_datasets_dir(o.extra_datasets)  # a missing folder is an error even if unused
    check_reserved(o.overrides, "the ++ arguments", "--input_file/--output_dir")
    o.overrides, moved = move_secret_overrides(o.overrides, "SKILLS_SERVER_API_KEY")
    sources = [x for x in (o.input_file, o.input_dir, o.benchmark) if x]
    user_input = any(t.lstrip("+").startswith("input_file=") for t in o.overrides)
    if len(sources) + user_input != 1:
        raise UsageError("give exactly one input: --input_file, --input_dir, --benchmark or ++input_file=...")
    out = o.output_dir if cluster.is_slurm else os.path.abspath(o.output_dir)
    log_dir = o.log_dir or os.path.join(out, "generation-logs")
    seeds = _seeds(o)
    chunks = chunk_ids_for(o.num_chunks, o.chunk_ids)
    src = _source(o)
    plan = Plan(expname=o.expname, cluster=cluster.name, executor=cluster.executor, output_dir=out,
                log_dir=log_dir, run_after=list(o.slurm.run_after))
    runs, cfg, defaults, user, prompt_dir = _plan_runs(o, src, out, seeds, chunks, plan)
    needed = set(moved)
    names = [o.expname + (f"-rs{r.seed}" if r.seed is not None else "") + (f"-chunk{r.chunk}" if r.chunk is not None
                                                                            else "") for r in runs]
    jobs = build_jobs([[r] for r in runs], names, "generation", o.server, cluster, o.slurm, PortAllocator(cluster),
                      log_dir, needed, (cfg.eval_config or {}).get("data_dir") or src.data_dir)
    for job in jobs:
        job.secret_env = list(dict.fromkeys([*job.secret_env, *moved]))
    plan.jobs, _ = chain(jobs, o.slurm.dependent_jobs)
    plan.manifest[o.benchmark or os.path.basename(out.rstrip("/")) or "generation"] = {
        "data": {"file": src.input_file or o.input_dir}, "prompt_config": cfg.prompt_config,
        "examples_type": cfg.examples_type, "overrides": [*defaults, *user], "seeds": seeds,
        "model": o.server.model, "generation_module": src.module, "eval_type": cfg.eval_type,
        "outputs": [os.path.join(out, output_name(s)) for s in dict.fromkeys(r.seed for r in runs)],  # written now
    }
    set_prompt_env(plan.jobs, prompt_dir)
    if o.wandb is not None and o.wandb.log_samples:
        wandb_secrets(plan.jobs)
    plan.required_env = sorted(needed | {e.strip() for e in cluster.required_env_vars if "=" not in e})
    if not plan.jobs:
        plan.notes.append("All jobs are completed; nothing to run (--rerun_done to redo).")
    return plan
