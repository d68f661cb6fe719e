"""``ns generate`` -> Plan: one job per remaining (seed, chunk), outputs ``<out>/output[-rsS].jsonl``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, List, Optional

from skills.registry.benchmarks import extra_datasets_dir
from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.config.overrides import validate_overrides
from skills.pipeline.common import (
    PortAllocator, ServerOptions, SlurmOptions, apply_slurm, chain, check_expname, check_program,
    check_input, check_reserved, check_resume, check_server_options, chunk_ids_for, client_overrides, default_data_dir,
    make_server, output_name, parse_ids, program_argv, prompt_set_for_plan, seed_overrides, set_prompt_env, shell_join,
)
from skills.pipeline.plan import Job, Plan
from skills.pipeline.sidecars import make_sidecars


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
    wandb: Any = None  # skills.pipeline.compat.WandbOptions (--log_samples)


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


def build_generate_plan(o: GenerateOptions) -> Plan:
    cluster = o.cluster
    check_server_options(o.server)
    check_expname(o.expname)
    extra_datasets_dir(o.extra_datasets)  # a missing folder is an error even if unused
    check_reserved(o.overrides, "the ++ arguments", "--input_file/--output_dir")
    from skills.config.secrets import move_secret_overrides

    o.overrides, moved = move_secret_overrides(o.overrides, "SKILLS_SERVER_API_KEY")
    sources = [x for x in (o.input_file, o.input_dir, o.benchmark) if x]
    user_input = any(t.lstrip("+").startswith("input_file=") for t in o.overrides)
    if len(sources) + user_input != 1:
        raise UsageError("give exactly one input: --input_file, --input_dir, --benchmark or ++input_file=...")
    out = o.output_dir if cluster.is_slurm else os.path.abspath(o.output_dir)
    log_dir = o.log_dir or os.path.join(out, "generation-logs")
    seeds = _seeds(o)
    defaults: List[str] = []
    chunks = chunk_ids_for(o.num_chunks, o.chunk_ids)
    input_file = o.input_file
    module = o.generation_module or "skills.inference.generate"
    sidecar_names = ["sandbox"] if o.with_sandbox else []
    data_dir = None
    if o.benchmark:
        from skills.registry.benchmarks import get_benchmark

        data_dir = default_data_dir(o.data_dir)
        spec = get_benchmark(o.benchmark, o.extra_datasets, data_dir)
        if spec.is_group:
            raise UsageError(f"--benchmark {o.benchmark} is a group; ns generate takes one member "
                             f"(e.g. {spec.name}.{spec.members[0].split('.')[-1] if spec.members else '<member>'})")
        input_file = os.path.join(data_dir, *o.benchmark.split("."), f"{o.split or spec.eval_split}.jsonl")
        defaults = list(spec.default_overrides())
        module = o.generation_module or spec.generation_module
        sidecar_names += list(spec.all_sidecars())
    if input_file and not (cluster.is_slurm and cluster.ssh_tunnel) and not os.path.isfile(input_file):
        raise UsageError(f"input file not found: {input_file}")
    sample_client, _ = client_overrides(o.server, None)
    from skills.inference.task import task_of

    schema = task_of(module).config_class
    validate_overrides([*sample_client, *seed_overrides(seeds[0]), *defaults, *o.overrides], schema,
                       source="the command line")
    pdata = default_data_dir(o.data_dir)
    prompt_dir, prompt_check = prompt_set_for_plan(pdata if cluster.is_slurm else os.path.abspath(pdata), cluster)
    cfg = check_program([*sample_client, *seed_overrides(seeds[0]), *defaults, *o.overrides], "ns generate", module,
                        prompt_check)
    if cfg.eval_type:
        from skills.evaluation import get_grader

        sidecar_names += list(get_grader(cfg.eval_type).sidecars)
    user = validate_overrides(o.overrides, schema)
    defaults = validate_overrides(defaults, schema)
    plan = Plan(expname=o.expname, cluster=cluster.name, executor=cluster.executor, output_dir=out,
                log_dir=log_dir, run_after=list(o.slurm.run_after))
    if prompt_check == prompt_dir:
        from skills.inference.prompts import prompt_notice

        notice = prompt_notice(cfg)
        if notice:
            plan.notes.append(notice)
    ports = PortAllocator(cluster)
    jobs: List[Job] = []
    needed = set(moved)
    checked: set = set()  # input files read at plan time
    for seed in seeds:
        merged = os.path.join(out, output_name(seed))
        src = input_file
        if o.input_dir:
            src = os.path.join(o.input_dir, output_name(seed))
        for chunk in chunks:
            path = os.path.join(out, output_name(seed, chunk))
            if not o.rerun_done and (os.path.exists(path + ".done") or os.path.exists(merged + ".done")):
                plan.notes.append(f"{os.path.basename(path)} already done")
                continue
            server = make_server(o.server, cluster, ports)
            client, secrets = client_overrides(o.server, server)
            needed.update(secrets)
            io = ([f"++input_file={src}"] if src else []) + [f"++output_file={merged}",
                                                              f"++skip_filled={not o.rerun_done}"]
            seed_toks = [] if o.input_dir else seed_overrides(seed)  # input_dir: greedy, like the reference
            chunk_toks = [f"++num_chunks={o.num_chunks}", f"++chunk_id={chunk}"] if chunk is not None else []
            if src and src not in checked and os.path.isfile(src) and not (cluster.is_slurm and cluster.ssh_tunnel):
                check_input([*io, *sample_client, *seed_toks, *defaults, *user], "ns generate", module, prompt_check)
                checked.add(src)
            if not o.rerun_done and not (cluster.is_slurm and cluster.ssh_tunnel):
                check_resume([*io, *sample_client, *seed_toks, *chunk_toks, *defaults, *user], "ns generate", module,
                             prompt_check, path)
            programs = [program_argv(module, [*io, *client, *seed_toks, *chunk_toks, *defaults, *user])]
            if chunk is not None:
                parts = [os.path.join(out, output_name(seed, c)) for c in range(o.num_chunks or 0)]
                programs.append(["python", "-m", "skills.inference.merge_chunks", merged, *parts])
            cmd = " && ".join(shell_join(p) for p in programs)
            cmd = " && ".join(c for c in (_shell(o.preprocess_cmd, seed), cmd, _shell(o.postprocess_cmd, seed)) if c)
            if o.wandb is not None and o.wandb.log_samples and seed == seeds[0]:
                cmd += " && " + o.wandb.samples_command(merged, o.expname, guard=chunk is not None)
            name = o.expname + (f"-rs{seed}" if seed is not None else "") + (
                f"-chunk{chunk}" if chunk is not None else "")
            sidecars = make_sidecars(sidecar_names, cluster, ports,
                                     data_dir=(cfg.eval_config or {}).get("data_dir") or data_dir)
            job = Job(name=name, kind="generation", commands=[cmd], programs=programs, server=server,
                      sidecars=sidecars,
                      gpus=server.gpus if server else 0, nodes=server.nodes if server else 1,
                      log_dir=log_dir, done_markers=[path + ".done"], secret_env=[*secrets, *moved],
                      env={k: v for sc in sidecars for k, v in sc.client_env.items()})
            jobs.append(apply_slurm(job, cluster, o.slurm))
    plan.jobs, _ = chain(jobs, o.slurm.dependent_jobs)
    plan.manifest[o.benchmark or os.path.basename(out.rstrip("/")) or "generation"] = {
        "data": {"file": input_file or o.input_dir}, "prompt_config": cfg.prompt_config,
        "examples_type": cfg.examples_type, "overrides": [*defaults, *user], "seeds": seeds,
        "model": o.server.model, "generation_module": module, "eval_type": cfg.eval_type,
        "outputs": [os.path.join(out, output_name(s)) for s in seeds],
    }
    set_prompt_env(plan.jobs, prompt_dir)
    if o.wandb is not None and o.wandb.log_samples:
        from skills.pipeline.compat import wandb_secrets

        wandb_secrets(plan.jobs)
    plan.required_env = sorted(needed | {e.strip() for e in cluster.required_env_vars if "=" not in e})
    if not plan.jobs:
        plan.notes.append("All jobs are completed; nothing to run (--rerun_done to redo).")
    return plan
