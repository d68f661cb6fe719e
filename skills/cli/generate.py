"""``ns generate``: LLM generation over an input file or benchmark, one job per seed and chunk."""

from __future__ import annotations

from typing import Optional

import typer

from skills.cli.common import emit_plan, require, split_extra
from skills.cli.options import CLUSTER, DRY_RUN, REFERENCE, SERVER, SLURM, WANDB, F, O, with_groups


@with_groups(server=SERVER, cluster=CLUSTER, slurm=SLURM, dry_run=DRY_RUN, ref=REFERENCE, wandb=WANDB)
def generate_cmd(
    ctx: typer.Context,
    output_dir: Optional[str] = O("output_dir", "Folder for output[-rsS].jsonl (required)."),
    input_file: Optional[str] = O("input_file", "Input jsonl."),
    input_dir: Optional[str] = O("input_dir", "Folder of output-rsS.jsonl from a previous run (seed S reads rsS)."),
    benchmark: Optional[str] = O("benchmark", "Use a prepared benchmark (and its defaults) as input."),
    data_dir: Optional[str] = O("data_dir"),
    split: Optional[str] = O("split"),
    extra_datasets: Optional[str] = O("extra_datasets"),
    expname: str = O("expname", default="generate"),
    num_random_seeds: Optional[int] = O("num_random_seeds", "Seeds starting_seed..starting_seed+N-1."),
    random_seeds: Optional[str] = O("random_seeds", "Explicit seeds a,b,c or a..b."),
    starting_seed: int = O("starting_seed", default=0),
    num_chunks: Optional[int] = O("num_chunks"),
    chunk_ids: Optional[str] = O("chunk_ids"),
    log_dir: Optional[str] = O("log_dir", "Default <output_dir>/generation-logs."),
    rerun_done: bool = F("rerun_done", default=False),
    with_sandbox: bool = F("with_sandbox", "Start a code sandbox next to every job.", default=False),
    generation_type: Optional[str] = O("generation_type", "generate (the reference's map of generation modules)."),
    generation_module: Optional[str] = O("generation_module", "Generation module (or .py path) to run."),
    preprocess_cmd: Optional[str] = O("preprocess_cmd", "Shell command before the generation ({random_seed} filled)."),
    postprocess_cmd: Optional[str] = O("postprocess_cmd", "Shell command after the generation ({random_seed} filled)."),
    _reuse_exp: Optional[str] = typer.Option(None, "--_reuse_exp", hidden=True),
    _task_dependencies: Optional[str] = typer.Option(None, "--_task_dependencies", hidden=True),
    server=None, cluster=None, slurm=None, dry_run=None, ref=None, wandb=None,
) -> int:
    """Run LLM generation over an input file or benchmark (one job per seed and chunk)."""
    overrides, _ = split_extra(ctx)
    if _reuse_exp is not None or _task_dependencies is not None:
        from skills.cli.common import not_applicable

        not_applicable("--_reuse_exp/--_task_dependencies", "they hand Python objects between the reference's "
                                                            "pipeline functions; a command line has none")
    require(output_dir=output_dir, server_type=server.server_type)
    from skills.cli.reference import before_plan
    from skills.config.mounts import host_path, translate_all, translate_text
    from skills.pipeline.generate_plan import GenerateOptions, build_generate_plan
    from skills.pipeline.programs import generation_module as module_of
    from skills.pipeline.reference_options import after_plan

    module = module_of(generation_type, generation_module)
    wandb.check()
    before_plan(ref, cluster)
    server.model = host_path(cluster, server.model, "--model") if (server.model or "").startswith("/") else server.model
    server.server_args = translate_text(cluster, server.server_args)
    opts = GenerateOptions(
        output_dir=host_path(cluster, output_dir, "--output_dir"), cluster=cluster, server=server, slurm=slurm,
        overrides=translate_all(cluster, overrides), input_file=host_path(cluster, input_file, "--input_file"),
        input_dir=host_path(cluster, input_dir, "--input_dir"), benchmark=benchmark,
        data_dir=host_path(cluster, data_dir, "--data_dir"), split=split,
        extra_datasets=host_path(cluster, extra_datasets, "--extra_datasets"), expname=expname,
        num_random_seeds=num_random_seeds, random_seeds=random_seeds, starting_seed=starting_seed,
        num_chunks=num_chunks, chunk_ids=chunk_ids, log_dir=host_path(cluster, log_dir, "--log_dir"),
        rerun_done=rerun_done, with_sandbox=with_sandbox, generation_module=module,
        preprocess_cmd=translate_text(cluster, preprocess_cmd or "") or None,
        postprocess_cmd=translate_text(cluster, postprocess_cmd or "") or None, wandb=wandb,
    )
    plan = build_generate_plan(opts)
    after_plan(plan, ref, cluster)
    return emit_plan(plan, dry_run, cluster)
