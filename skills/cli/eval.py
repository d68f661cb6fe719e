"""``ns eval``: generation, grading, optional judge and metrics for a list of benchmarks."""

from __future__ import annotations

from typing import Any, Dict, Optional

import typer

from skills.cli.common import emit_plan, require, split_extra
from skills.cli.options import CLUSTER, DRY_RUN, REFERENCE, SERVER, SLURM, WANDB, F, Group, O, with_groups

JUDGE = Group(SERVER.options, dict).with_prefix("judge_", "Judge: ")  # raw values: None = not given


GROUPS = dict(server=SERVER, judge=JUDGE, cluster=CLUSTER, slurm=SLURM, dry_run=DRY_RUN, ref=REFERENCE, wandb=WANDB)


def eval_params(
    ctx: typer.Context,
    output_dir: Optional[str] = O("output_dir", "Root of all outputs (required)."),
    benchmarks: Optional[str] = O("benchmarks", "Comma list of name[:N] (N seeds), no spaces (required)."),
    data_dir: Optional[str] = O("data_dir", "Prepared data folder (default $SKILLS_DATA_DIR or ~/.cache/skills/data)."),
    split: Optional[str] = O("split", "Data split for all benchmarks."),
    expname: str = O("expname", "Experiment name (job-name prefix).", default="eval"),
    starting_seed: int = O("starting_seed", "First random seed.", default=0),
    num_jobs: Optional[int] = O("num_jobs", "Jobs to pack all evals into (default: slurm one per eval, local 1)."),
    num_chunks: Optional[int] = O("num_chunks", "Split each benchmark's data into this many chunks."),
    chunk_ids: Optional[str] = O("chunk_ids", "Chunks to run: a,b,c or a..b."),
    single_node_mode: str = O("single_node_mode", "How evals packed into one job run: parallel or sequential.",
                              default="parallel"),
    generation_type: Optional[str] = O("generation_type", "generate (the reference's map of generation modules)."),
    generation_module: Optional[str] = O("generation_module", "Generation module (or .py path) for every benchmark."),
    judge_type: str = O("judge_type", "llm (nvembed is not implemented).", default="llm"),
    judge_generation_type: Optional[str] = O("judge_generation_type", "Judge: generation type."),
    judge_generation_module: Optional[str] = O("judge_generation_module", "Judge: generation module."),
    judge_pipeline_kwargs: Optional[str] = O("judge_pipeline_kwargs", "Judge: JSON object overriding the judge's "
                                             "model/server_*/generation_* settings."),
    extra_judge_args: str = O("extra_judge_args", "Extra ++ overrides for the judge.", default=""),
    log_dir: Optional[str] = O("log_dir", "Log folder (default <output_dir>/eval-logs)."),
    extra_datasets: Optional[str] = O("extra_datasets", "Folder with extra benchmark definitions."),
    extra_datasets_type: Optional[str] = O("extra_datasets_type", "local (default) or cluster (Slurm: a folder "
                                           "on the cluster)."),
    metrics_kwargs: Optional[str] = O("metrics_kwargs", "JSON keyword arguments for the metric classes."),
    rerun_done: bool = F("rerun_done", "Ignore .done markers.", default=False),
    with_sandbox: bool = F("with_sandbox", "Start a code sandbox next to every job.", default=False),
    auto_summarize_results: bool = F("auto_summarize_results", "Add a metrics job per benchmark.", default=True),
    _reuse_exp: Optional[str] = typer.Option(None, "--_reuse_exp", hidden=True),
    _task_dependencies: Optional[str] = typer.Option(None, "--_task_dependencies", hidden=True),
    server=None, judge=None, cluster=None, slurm=None, dry_run=None, ref=None, wandb=None,
) -> int:
    """Evaluate a model on benchmarks: generation, grading, optional judge, metrics."""
    return run_eval(dict(locals()))


eval_cmd = with_groups(**GROUPS)(eval_params)


def run_eval(v: Dict[str, Any], prompt_set_config: Optional[str] = None) -> int:
    """The command's work, shared with ``ns robust_eval`` (which plans one eval per prompt variant)."""
    ctx, server, judge, cluster, ref, wandb = v["ctx"], v["server"], v["judge"], v["cluster"], v["ref"], v["wandb"]
    output_dir, benchmarks = v["output_dir"], v["benchmarks"]
    overrides, _ = split_extra(ctx)
    if v["_reuse_exp"] is not None or v["_task_dependencies"] is not None:
        from skills.cli.common import not_applicable

        not_applicable("--_reuse_exp/--_task_dependencies", "they hand Python objects between the reference's "
                                                            "pipeline functions; a command line has none")
    require(output_dir=output_dir, benchmarks=benchmarks, server_type=server.server_type)
    from skills.cli.reference import before_plan
    from skills.config.errors import UsageError
    from skills.config.mounts import host_path, translate_all, translate_text
    from skills.pipeline.eval_plan import EvalOptions, build_eval_plan
    from skills.pipeline.judge import JudgeOptions
    from skills.pipeline.programs import generation_module as module_of
    from skills.pipeline.reference_options import after_plan

    if v["judge_type"] != "llm":
        raise UsageError(f"--judge_type={v['judge_type']} (the reference's nvembed judge) is not implemented; use llm")
    module = module_of(v["generation_type"], v["generation_module"])
    judge["generation_module"] = module_of(v["judge_generation_type"], v["judge_generation_module"],
                                           "--judge_generation")
    wandb.check()
    before_plan(ref, cluster)
    server.model = host_path(cluster, server.model, "--model") if (server.model or "").startswith("/") else server.model
    server.server_args = translate_text(cluster, server.server_args)
    opts = EvalOptions(
        output_dir=host_path(cluster, output_dir, "--output_dir"), benchmarks=benchmarks, cluster=cluster,
        server=server, judge=JudgeOptions.from_server(judge, translate_text(cluster, v["extra_judge_args"]),
                                                      v["judge_pipeline_kwargs"]),
        slurm=v["slurm"], overrides=translate_all(cluster, overrides), expname=v["expname"],
        data_dir=host_path(cluster, v["data_dir"], "--data_dir"), split=v["split"], starting_seed=v["starting_seed"],
        num_jobs=v["num_jobs"], num_chunks=v["num_chunks"], chunk_ids=v["chunk_ids"],
        log_dir=host_path(cluster, v["log_dir"], "--log_dir"), rerun_done=v["rerun_done"],
        extra_datasets=host_path(cluster, v["extra_datasets"], "--extra_datasets"),
        with_sandbox=v["with_sandbox"], auto_summarize_results=v["auto_summarize_results"], generation_module=module,
        single_node_mode=v["single_node_mode"], metrics_kwargs=v["metrics_kwargs"], wandb=wandb,
        extra_datasets_type=v["extra_datasets_type"],
    )
    if prompt_set_config is None:
        plan = build_eval_plan(opts)
    else:
        from skills.pipeline.robust_eval_plan import build_robust_eval_plan

        if prompt_set_config.startswith("/"):
            prompt_set_config = host_path(cluster, prompt_set_config, "--prompt_set_config")
        plan = build_robust_eval_plan(opts, prompt_set_config)
    after_plan(plan, ref, cluster)
    return emit_plan(plan, v["dry_run"], cluster)
