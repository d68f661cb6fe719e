"""The ``ns`` command line (Typer). Thin: parse options, build a Plan, print or run it.

Only Typer/click are imported at start-up (``ns --help`` must be instant); planners, Hydra,
OmegaConf and executors are imported inside the commands. Option names keep the reference's
underscores (``--output_dir``) and also accept dashes (``--output-dir``). Commands that launch a
program take ``++key=value`` / ``+key=value`` / ``~key`` extra arguments; unlike the reference, an
unknown ``--option`` is an error with a suggestion instead of being forwarded silently.
"""

from __future__ import annotations

import difflib
import os
import sys
from typing import List, Optional, Sequence

import click
import typer

from skills.config.errors import UsageError

EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}
# Plain click help: with rich installed Typer escapes "[default: x]" as "\\[default: x]" even when
# rich formatting is off, and the help text shows the backslash.
typer.core.HAS_RICH = False

app = typer.Typer(
    name="ns", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode=None, help="Evaluate LLMs: prepare_data, eval, generate, summarize_results, ...",
)


def O(name: str, help: str = "", **kw):  # noqa: N802  (reads like a declaration)
    """An option spelled ``--name`` (underscores kept) and ``--name-with-dashes``."""
    decls = [f"--{name}"]
    if "_" in name:
        decls.append(f"--{name.replace('_', '-')}")
    default = kw.pop("default", None)
    return typer.Option(default, *decls, help=help, **kw)


def F(name: str, help: str = "", **kw):  # noqa: N802
    """A boolean flag pair ``--name/--no-name`` (underscores kept; dashed spelling too)."""
    decls = [f"--{name}/--no-{name}"]
    if "_" in name:
        d = name.replace("_", "-")
        decls.append(f"--{d}/--no-{d}")
    default = kw.pop("default", False)
    return typer.Option(default, *decls, help=help, **kw)


# ----------------------------------------------------------------------------- helpers
def _option_names(ctx: click.Context) -> List[str]:
    return [o for p in ctx.command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")]


def unknown_option_error(ctx: click.Context, token: str) -> UsageError:
    name = token.split("=", 1)[0]
    names = _option_names(ctx)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6) or difflib.get_close_matches(
        name.replace("-", "_"), names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return UsageError(f"no such option: {name} (ns {ctx.command.name}){hint}")


def split_extra(ctx: click.Context, positional: bool = False) -> tuple:
    """ctx.args -> (overrides, positional args). Unknown ``--options`` are errors."""
    from skills.config.overrides import is_override

    overrides, rest = [], []
    for tok in ctx.args:
        if tok.startswith("-") and not tok.startswith("--") and tok[1:].lstrip("-").replace(".", "").isdigit():
            rest.append(tok)
        elif tok.startswith("-"):
            raise unknown_option_error(ctx, tok)
        elif is_override(tok):
            overrides.append(tok)
        elif positional:
            rest.append(tok)
        else:
            raise UsageError(f"unexpected argument '{tok}' (overrides are written ++key=value)")
    return overrides, rest


def require(**values) -> None:
    for flag, value in values.items():
        if value is None or value == "":
            raise UsageError(f"missing option --{flag}")


def emit_plan(plan, dry_run: bool, fmt: str, cluster) -> int:
    """Print the plan (dry run) or run it with the cluster's executor."""
    from skills.pipeline.dryrun import render

    if fmt not in ("text", "json"):
        raise UsageError(f"--dry_run_format must be text or json, got '{fmt}'")
    if dry_run:
        sys.stdout.write(render(plan, fmt))
        return 0
    from skills.pipeline.eval_plan import check_env
    from skills.pipeline.executors import run_plan

    check_env(plan)
    if not plan.jobs:
        for note in plan.notes:
            print(note)
        return 0
    return run_plan(plan, cluster)


def _slurm(partition, qos, time_min, exclusive, sbatch_kwargs, run_after, dependent_jobs):
    from skills.pipeline.common import SlurmOptions, parse_json_kwargs

    if dependent_jobs < 0:
        raise UsageError("--dependent_jobs must be >= 0")
    return SlurmOptions(partition=partition, qos=qos, time_min=time_min, exclusive=exclusive,
                        sbatch_kwargs=parse_json_kwargs(sbatch_kwargs, "--sbatch_kwargs"),
                        run_after=list(run_after or []), dependent_jobs=dependent_jobs)


def _cluster(cluster: Optional[str], config_dir: Optional[str], mount_paths: Optional[str] = None):
    from skills.config.cluster import get_cluster_config

    cfg = get_cluster_config(cluster, config_dir)
    if mount_paths:
        for m in mount_paths.split(","):
            if m.count(":") != 1:
                raise UsageError(f"--mount_paths entry '{m}' must be src:dst")
            cfg.mounts.append(m)
    return cfg


# ----------------------------------------------------------------------------- callback
def _version(value: bool) -> None:
    if value:
        from skills import __version__

        typer.echo(f"skills {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Evaluate LLMs: prepare_data, eval, generate, summarize_results, ..."""


# ----------------------------------------------------------------------------- eval
@app.command("eval", context_settings=EXTRA)
def eval_cmd(
    ctx: typer.Context,
    output_dir: Optional[str] = O("output_dir", "Root of all outputs (required)."),
    benchmarks: Optional[str] = O("benchmarks", "Comma list of name[:N] (N seeds), no spaces (required)."),
    server_type: Optional[str] = O("server_type", "vllm|sglang|trtllm (hosted) or openai|... (required)."),
    model: Optional[str] = O("model", "Model path or API model name."),
    server_address: Optional[str] = O("server_address", "URL of an existing server/API."),
    server_gpus: Optional[int] = O("server_gpus", "Host a server in each job with this many GPUs."),
    server_nodes: int = O("server_nodes", "Nodes for the hosted server.", default=1),
    server_args: str = O("server_args", "Appended verbatim to the server command.", default=""),
    server_container: Optional[str] = O("server_container", "Server container image (slurm)."),
    cluster: Optional[str] = O("cluster", "Cluster config name or YAML path (local works without a file)."),
    config_dir: Optional[str] = O("config_dir", "Folder holding <cluster>.yaml."),
    data_dir: Optional[str] = O("data_dir", "Prepared data folder (default $SKILLS_DATA_DIR or ~/.cache/skills/data)."),
    split: Optional[str] = O("split", "Data split for all benchmarks."),
    expname: str = O("expname", "Experiment name (job-name prefix).", default="eval"),
    starting_seed: int = O("starting_seed", "First random seed.", default=0),
    num_jobs: Optional[int] = O("num_jobs", "Jobs to pack all evals into (default: slurm one per eval, local 1)."),
    num_chunks: Optional[int] = O("num_chunks", "Split each benchmark's data into this many chunks."),
    chunk_ids: Optional[str] = O("chunk_ids", "Chunks to run: a,b,c or a..b."),
    judge_model: Optional[str] = O("judge_model", "Judge model (gives every benchmark a judge step)."),
    judge_server_type: Optional[str] = O("judge_server_type"),
    judge_server_address: Optional[str] = O("judge_server_address"),
    judge_server_gpus: Optional[int] = O("judge_server_gpus", "Host the judge in its job."),
    judge_server_nodes: Optional[int] = O("judge_server_nodes"),
    judge_server_args: Optional[str] = O("judge_server_args"),
    extra_judge_args: str = O("extra_judge_args", "Extra ++ overrides for the judge.", default=""),
    log_dir: Optional[str] = O("log_dir", "Log folder (default <output_dir>/eval-logs)."),
    extra_datasets: Optional[str] = O("extra_datasets", "Folder with extra benchmark definitions."),
    rerun_done: bool = F("rerun_done", "Ignore .done markers.", default=False),
    with_sandbox: bool = F("with_sandbox", "Start a code sandbox (not supported yet).", default=False),
    auto_summarize_results: bool = F("auto_summarize_results", "Add a metrics job per benchmark.", default=True),
    dependent_jobs: int = O("dependent_jobs", "Extra chained copies of each job.", default=0),
    partition: Optional[str] = O("partition"),
    qos: Optional[str] = O("qos"),
    time_min: Optional[str] = O("time_min"),
    exclusive: Optional[bool] = F("exclusive", default=None),
    sbatch_kwargs: Optional[str] = O("sbatch_kwargs", "JSON object of extra sbatch parameters."),
    run_after: Optional[List[str]] = O("run_after", "Slurm: wait for these experiments."),
    mount_paths: Optional[str] = O("mount_paths", "Extra src:dst mounts, comma separated."),
    dry_run: bool = F("dry_run", "Print the jobs; run nothing.", default=False),
    dry_run_format: str = O("dry_run_format", "text or json.", default="text"),
) -> int:
    """Evaluate a model on benchmarks: generation, grading, optional judge, metrics."""
    overrides, _ = split_extra(ctx)
    require(output_dir=output_dir, benchmarks=benchmarks, server_type=server_type)
    from skills.pipeline.common import ServerOptions
    from skills.pipeline.eval_plan import EvalOptions, JudgeOptions, build_eval_plan

    cfg = _cluster(cluster, config_dir, mount_paths)
    opts = EvalOptions(
        output_dir=output_dir, benchmarks=benchmarks, cluster=cfg,
        server=ServerOptions(server_type, model, server_address, server_gpus, server_nodes, server_args,
                             server_container),
        judge=JudgeOptions(judge_model, judge_server_type, judge_server_address, judge_server_gpus,
                           judge_server_nodes, judge_server_args, extra_judge_args),
        slurm=_slurm(partition, qos, time_min, exclusive, sbatch_kwargs, run_after, dependent_jobs),
        overrides=overrides, expname=expname, data_dir=data_dir, split=split, starting_seed=starting_seed,
        num_jobs=num_jobs, num_chunks=num_chunks, chunk_ids=chunk_ids, log_dir=log_dir,
        rerun_done=rerun_done, extra_datasets=extra_datasets, with_sandbox=with_sandbox,
        auto_summarize_results=auto_summarize_results,
    )
    return emit_plan(build_eval_plan(opts), dry_run, dry_run_format, cfg)


# ----------------------------------------------------------------------------- generate
@app.command("generate", context_settings=EXTRA)
def generate_cmd(
    ctx: typer.Context,
    output_dir: Optional[str] = O("output_dir", "Folder for output[-rsS].jsonl (required)."),
    server_type: Optional[str] = O("server_type", "(required)"),
    input_file: Optional[str] = O("input_file", "Input jsonl."),
    input_dir: Optional[str] = O("input_dir", "Folder of output-rsS.jsonl from a previous run (seed S reads rsS)."),
    benchmark: Optional[str] = O("benchmark", "Use a prepared benchmark (and its defaults) as input."),
    model: Optional[str] = O("model"),
    server_address: Optional[str] = O("server_address"),
    server_gpus: Optional[int] = O("server_gpus"),
    server_nodes: int = O("server_nodes", default=1),
    server_args: str = O("server_args", default=""),
    server_container: Optional[str] = O("server_container"),
    cluster: Optional[str] = O("cluster"),
    config_dir: Optional[str] = O("config_dir"),
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
    with_sandbox: bool = F("with_sandbox", default=False),
    dependent_jobs: int = O("dependent_jobs", default=0),
    partition: Optional[str] = O("partition"),
    qos: Optional[str] = O("qos"),
    time_min: Optional[str] = O("time_min"),
    exclusive: Optional[bool] = F("exclusive", default=None),
    sbatch_kwargs: Optional[str] = O("sbatch_kwargs"),
    run_after: Optional[List[str]] = O("run_after"),
    mount_paths: Optional[str] = O("mount_paths"),
    dry_run: bool = F("dry_run", default=False),
    dry_run_format: str = O("dry_run_format", default="text"),
) -> int:
    """Run LLM generation over an input file or benchmark (one job per seed and chunk)."""
    overrides, _ = split_extra(ctx)
    require(output_dir=output_dir, server_type=server_type)
    from skills.pipeline.common import ServerOptions
    from skills.pipeline.generate_plan import GenerateOptions, build_generate_plan

    cfg = _cluster(cluster, config_dir, mount_paths)
    opts = GenerateOptions(
        output_dir=output_dir, cluster=cfg,
        server=ServerOptions(server_type, model, server_address, server_gpus, server_nodes, server_args,
                             server_container),
        slurm=_slurm(partition, qos, time_min, exclusive, sbatch_kwargs, run_after, dependent_jobs),
        overrides=overrides, input_file=input_file, input_dir=input_dir, benchmark=benchmark,
        data_dir=data_dir, split=split, extra_datasets=extra_datasets, expname=expname,
        num_random_seeds=num_random_seeds, random_seeds=random_seeds, starting_seed=starting_seed,
        num_chunks=num_chunks, chunk_ids=chunk_ids, log_dir=log_dir, rerun_done=rerun_done,
        with_sandbox=with_sandbox,
    )
    return emit_plan(build_generate_plan(opts), dry_run, dry_run_format, cfg)


# ----------------------------------------------------------------------------- run_cmd
@app.command("run_cmd", context_settings=EXTRA)
def run_cmd(
    ctx: typer.Context,
    command: Optional[str] = O("command", "Shell command (or give it as extra arguments)."),
    cluster: Optional[str] = O("cluster"),
    config_dir: Optional[str] = O("config_dir"),
    expname: str = O("expname", default="script"),
    model: Optional[str] = O("model"),
    server_type: Optional[str] = O("server_type"),
    server_address: Optional[str] = O("server_address"),
    server_gpus: Optional[int] = O("server_gpus"),
    server_nodes: int = O("server_nodes", default=1),
    server_args: str = O("server_args", default=""),
    server_container: Optional[str] = O("server_container"),
    container: Optional[str] = O("container", "Container name/image for the command (slurm)."),
    num_gpus: Optional[int] = O("num_gpus"),
    num_nodes: int = O("num_nodes", default=1),
    log_dir: Optional[str] = O("log_dir"),
    dependent_jobs: int = O("dependent_jobs", default=0),
    partition: Optional[str] = O("partition"),
    qos: Optional[str] = O("qos"),
    time_min: Optional[str] = O("time_min"),
    exclusive: Optional[bool] = F("exclusive", default=None),
    sbatch_kwargs: Optional[str] = O("sbatch_kwargs"),
    run_after: Optional[List[str]] = O("run_after"),
    mount_paths: Optional[str] = O("mount_paths"),
    with_sandbox: bool = F("with_sandbox", default=False),
    dry_run: bool = F("dry_run", default=False),
    dry_run_format: str = O("dry_run_format", default="text"),
) -> int:
    """Run an arbitrary shell command as a job (optionally next to a hosted model server)."""
    words = _command_words(ctx)
    from skills.pipeline.common import ServerOptions
    from skills.pipeline.run_cmd_plan import RunCmdOptions, build_run_cmd_plan

    if bool(command) == bool(words):
        raise UsageError("give the command either with --command or as extra arguments (exactly one)")
    cfg = _cluster(cluster, config_dir, mount_paths)
    opts = RunCmdOptions(
        command=command or " ".join(words), cluster=cfg, expname=expname,
        server=ServerOptions(server_type, model, server_address, server_gpus, server_nodes, server_args,
                             server_container),
        slurm=_slurm(partition, qos, time_min, exclusive, sbatch_kwargs, run_after, dependent_jobs),
        container=container, num_gpus=num_gpus, num_nodes=num_nodes, log_dir=log_dir,
    )
    return emit_plan(build_run_cmd_plan(opts), dry_run, dry_run_format, cfg)


def _command_words(ctx: click.Context) -> List[str]:
    """Extra args form the command; an unknown ``--option`` BEFORE the first word is a typo."""
    words: List[str] = []
    for tok in ctx.args:
        if not words and tok.startswith("--"):
            raise unknown_option_error(ctx, tok)
        words.append(tok)
    return words


# ----------------------------------------------------------------------------- prepare_data
@app.command("prepare_data", context_settings=EXTRA)
def prepare_data(
    ctx: typer.Context,
    data_dir: Optional[str] = O("data_dir", "Where to write <bench>/<split>.jsonl."),
    mirror: Optional[str] = O("mirror", "Local folder laid out like the upstream sources."),
    cluster: Optional[str] = O("cluster"),
    config_dir: Optional[str] = O("config_dir"),
    extra_datasets: Optional[str] = O("extra_datasets"),
    expname: str = O("expname", "Slurm: experiment name of the preparation job.", default="prepare-data"),
    log_dir: Optional[str] = O("log_dir", "Slurm: log folder (default <data_dir>/prepare-logs)."),
    dry_run: bool = F("dry_run", "Slurm: print the job; submit nothing.", default=False),
) -> int:
    """Download and format benchmark data: ns prepare_data aime24 gpqa --data_dir DIR [--split S]
    [--mirror DIR]. Benchmark-specific flags (e.g. --split, --random_seed) are passed through."""
    names, extra = _prepare_args(ctx)
    cfg = _cluster(cluster, config_dir)
    if cfg.is_slurm:
        return _prepare_on_slurm(cfg, names, extra, data_dir, mirror, expname, log_dir, dry_run)
    from pathlib import Path

    try:
        from skills.data.prepare import prepare_benchmarks
    except ImportError as exc:
        raise UsageError(f"data preparation is not available in this installation ({exc})") from None
    written = prepare_benchmarks(names, Path(data_dir) if data_dir else None,
                                 Path(mirror) if mirror else None, extra)
    for bench, files in written.items():
        for f in files:
            print(f"{bench}: {f}")
    return 0


def _prepare_on_slurm(cfg, names, extra, data_dir, mirror, expname, log_dir, dry_run) -> int:
    """One CPU job on the cluster runs this same command there (data lands on its file system)."""
    import shlex

    from skills.data.prepare import split_names
    from skills.pipeline.run_cmd_plan import RunCmdOptions, build_run_cmd_plan

    from skills.benchmarks import BUILTIN

    selected = split_names(names)
    unknown = [n for n in selected if n not in BUILTIN]
    if not selected or unknown:
        raise UsageError(f"unknown benchmark {unknown[0]!r}" if unknown else "no benchmark given to prepare_data")
    if not data_dir:
        raise UsageError("--data_dir is required on slurm (a folder on the cluster's shared file system)")
    argv = ["python", "-m", "skills.cli.app", "prepare_data", *selected, "--data_dir", data_dir,
            *(["--mirror", mirror] if mirror else []), *extra]
    opts = RunCmdOptions(command=" ".join(shlex.quote(a) for a in argv), cluster=cfg, expname=expname,
                         container="nemo-skills" if "nemo-skills" in cfg.containers else None,
                         log_dir=log_dir or f"{data_dir.rstrip('/')}/prepare-logs")
    return emit_plan(build_run_cmd_plan(opts), dry_run, "text", cfg)


def _prepare_args(ctx: click.Context) -> tuple:
    """(benchmark names, pass-through flags). Flags close to one of ours are typos, not pass-through."""
    from skills.benchmarks import BUILTIN

    known = _option_names(ctx)
    names: List[str] = []
    extra: List[str] = []
    args = list(ctx.args)
    i = 0
    while i < len(args):
        tok = args[i]
        if tok.startswith("-"):
            name = tok.split("=", 1)[0]
            if difflib.get_close_matches(name, known, n=1, cutoff=0.8) or difflib.get_close_matches(
                    name.replace("-", "_"), known, n=1, cutoff=0.8):
                raise unknown_option_error(ctx, tok)
            extra.append(tok)
            nxt = args[i + 1] if i + 1 < len(args) else None
            if "=" not in tok and nxt is not None and not nxt.startswith("-") and nxt not in BUILTIN:
                extra.append(nxt)
                i += 1
        else:
            names.append(tok)
        i += 1
    return names, extra


# ----------------------------------------------------------------------------- summarize_results
@app.command("summarize_results")
def summarize_results(
    results_dir: str = typer.Argument(..., help="<out>, <out>/eval-results or one benchmark folder."),
    benchmarks: Optional[str] = O("benchmarks", "Comma list (default: all found)."),
    save_metrics_path: Optional[str] = O("save_metrics_path"),
    max_samples: int = O("max_samples", default=-1),
    max_seq_len: Optional[int] = O("max_seq_len"),
    metric_type: Optional[str] = O("metric_type"),
    show_ci: bool = F("show_ci", "Add 95% confidence intervals.", default=False),
    cluster: Optional[str] = O("cluster"),
    config_dir: Optional[str] = O("config_dir"),
    data_dir: Optional[str] = O("data_dir"),
    extra_datasets: Optional[str] = O("extra_datasets"),
    debug: bool = F("debug", default=False),
) -> int:
    """Compute metrics, print the tables and write metrics.json."""
    if benchmarks and any(c.isspace() for c in benchmarks):
        raise UsageError(f"--benchmarks must not contain spaces: '{benchmarks}'")
    if cluster:
        cfg = _cluster(cluster, config_dir)
        if cfg.is_slurm:
            raise UsageError("summarize_results reads local folders; copy the results or run it on the cluster")
    argv = [results_dir]
    for flag, value in (("--benchmarks", benchmarks), ("--save_metrics_path", save_metrics_path),
                        ("--max_seq_len", max_seq_len), ("--metric_type", metric_type),
                        ("--extra_datasets", extra_datasets)):
        if value is not None:
            argv += [flag, str(value)]
    if max_samples != -1:
        argv += ["--max_samples", str(max_samples)]
    if show_ci:
        argv.append("--show_ci")
    from skills.metrics.summarize import main as summarize_main

    return summarize_main(argv)


# ----------------------------------------------------------------------------- start_server
@app.command("start_server")
def start_server(
    model: Optional[str] = O("model", "(required)"),
    server_type: str = O("server_type", "vllm|sglang|trtllm.", default="vllm"),
    server_gpus: int = O("server_gpus", default=1),
    server_nodes: int = O("server_nodes", default=1),
    server_args: str = O("server_args", default=""),
    port: Optional[int] = O("port", "Port (default: 5000, or a free one if 5000 is taken)."),
    cluster: Optional[str] = O("cluster"),
    config_dir: Optional[str] = O("config_dir"),
    log_dir: Optional[str] = O("log_dir"),
    timeout: float = O("timeout", "Seconds to wait for the server to become healthy.", default=3600.0),
) -> int:
    """Host a model server on this machine until Ctrl-C."""
    require(model=model)
    from skills.pipeline.common import HOSTED_TYPES

    if server_type not in HOSTED_TYPES:
        raise UsageError(f"--server_type must be one of {', '.join(HOSTED_TYPES)} to host a server")
    cfg = _cluster(cluster, config_dir)
    if cfg.is_slurm:
        raise UsageError("start_server on slurm is not supported yet")
    from pathlib import Path

    from skills.servers.launch import serve_forever

    env = cfg.server_env(server_type)
    from skills.pipeline.run_cmd_plan import state_dir

    log_path = Path(log_dir) if log_dir else state_dir() / "server"
    log_path = log_path / f"{server_type}-server.log"
    if timeout <= 0:
        raise UsageError(f"--timeout must be > 0 seconds, got {timeout}")
    log_path.unlink(missing_ok=True)  # its tail is shown on failure: only this start's lines
    if port is not None:
        from skills.servers.ports import port_is_free

        if not 1 <= port <= 65535:
            raise UsageError(f"--port must be in 1..65535, got {port}")
        if not port_is_free(port):  # clients will be pointed at the port you named: never move it
            raise UsageError(f"--port {port} is in use; pick another or leave --port out")
    from skills.servers.health import ServerStartError

    try:
        return serve_forever(server_type, model, server_gpus, server_nodes, port or 5000, server_args,
                             env.command_prefix, env.interpreter(), log_path, env.env, timeout)
    except ServerStartError as exc:
        _print_error(str(exc))
        return 1


# ----------------------------------------------------------------------------- evaluate
@app.command("evaluate", context_settings=EXTRA)
def evaluate(
    ctx: typer.Context,
    eval_type: Optional[str] = O("eval_type", "math | multichoice (required)."),
) -> int:
    """Re-grade generation files in place: ns evaluate --eval_type=math FILE... [++eval_config.key=v]."""
    overrides, files = split_extra(ctx, positional=True)
    require(eval_type=eval_type)
    eval_config = {}
    for tok in overrides:
        key, _, value = tok.lstrip("+").partition("=")
        if not key.startswith("eval_config."):
            raise UsageError(f"{tok}: ns evaluate only takes ++eval_config.<key>=<value>")
        from skills.config.overrides import validate_overrides, apply_overrides

        eval_config.update(apply_overrides(validate_overrides([tok])).eval_config)
    from skills.evaluation import regrade_files

    for path, stats in regrade_files(files, eval_type, eval_config).items():
        print(f"{path}: " + ", ".join(f"{k}={v}" for k, v in stats.items()))
    return 0


# ----------------------------------------------------------------------------- status
@app.command("status")
def status(
    target: str = typer.Argument(..., help="Output dir, log dir or experiment name of a run."),
    json_out: bool = F("json", "Print JSON.", default=False),
    cluster: Optional[str] = O("cluster", "Slurm cluster config (where its nemo-run job_dir is)."),
    config_dir: Optional[str] = O("config_dir"),
) -> int:
    """Show the state of each job of a run (pending/running/done/failed/skipped/cancelled)."""
    from skills.pipeline.status import show_status

    return show_status(target, json_out, _cluster(cluster, config_dir) if cluster else None)


# ----------------------------------------------------------------------------- entry point
def _print_error(message: str) -> None:
    red, reset = ("\x1b[31m", "\x1b[0m") if sys.stderr.isatty() else ("", "")
    sys.stderr.write(f"{red}Error: {message}{reset}\n")
    sys.stderr.flush()


def _dedupe(message: str) -> str:
    """One line; click and Typer may both append the same 'Did you mean' sentence."""
    parts: List[str] = []
    import re

    for part in re.split(r"(?<=[.?!])\s+", message.replace("\n", " ")):
        if part.strip() and part.strip() not in parts:
            parts.append(part.strip())
    return " ".join(parts)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Console entry point: user errors -> one line on stderr and exit code 2, never a traceback."""
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = command.main(args=args, prog_name="ns", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n") if exc.ctx else None
        return 0
    except click.UsageError as exc:
        hint = f" (see ns {exc.ctx.command.name} --help)" if exc.ctx and exc.ctx.command.name != "ns" else ""
        _print_error(_dedupe(exc.format_message()) + hint)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        _print_error("aborted")
        return 130
    except click.ClickException as exc:
        _print_error(exc.format_message())
        return exc.exit_code
    except UsageError as exc:
        _print_error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        _print_error("interrupted")
        return 130
    except (OSError, UnicodeError, ValueError) as exc:
        # unreadable/unwritable paths, undecodable files, bad values deep in a library: one line
        # naming the problem; SKILLS_DEBUG=1 shows the traceback for bug reports
        if os.environ.get("SKILLS_DEBUG"):
            raise
        _print_error(f"{_describe(exc)} (SKILLS_DEBUG=1 shows the traceback)")
        return 2
    return rv if isinstance(rv, int) else 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not valid UTF-8 text ({exc.reason} at byte {exc.start})"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


if __name__ == "__main__":
    sys.exit(main())
