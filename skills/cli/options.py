"""Option declarations shared by the commands, each defined once.

``O``/``F`` declare one option spelled with underscores (the reference's ``--output_dir``) and with
dashes. ``Group`` bundles options that several commands take (server, cluster, Slurm, dry run);
``@with_groups(server=SERVER, ...)`` adds a group's options to a command's signature and hands the
command one typed object (``ServerOptions``, ``SlurmOptions``, ...) instead of a dozen arguments.
Only typer/click are imported here: ``ns --help`` must stay instant.
"""

from __future__ import annotations

import functools
import inspect
import typing
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

import typer


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


@dataclass(frozen=True)
class Opt:
    """One option of a group: name (without prefix), Python type, default, help, flag or not."""

    name: str
    type: Any
    default: Any = None
    help: str = ""
    flag: bool = False


@dataclass(frozen=True)
class Group:
    """Options that travel together; ``build(values)`` turns them into one typed object."""

    options: Sequence[Opt]
    build: Callable[[Dict[str, Any]], Any]
    prefix: str = ""

    def with_prefix(self, prefix: str, help_prefix: str = "") -> "Group":
        opts = [Opt(o.name, o.type, o.default, f"{help_prefix}{o.help}", o.flag) for o in self.options]
        return Group(opts, self.build, prefix)

    def parameters(self) -> List[inspect.Parameter]:
        out = []
        for o in self.options:
            name = self.prefix + o.name
            maker = F if o.flag else O
            out.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                         default=maker(name, o.help, default=o.default), annotation=o.type))
        return out

    def take(self, kwargs: Dict[str, Any]) -> Any:
        return self.build({o.name: kwargs.pop(self.prefix + o.name) for o in self.options})


def with_groups(**groups: Group) -> Callable[[Callable], Callable]:
    """Add each group's options to the command; the command receives ``<group name>=<object>``."""

    def deco(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn)
        params = [p.replace(annotation=hints.get(n, p.annotation)) for n, p in sig.parameters.items()
                  if n not in groups]
        for group in groups.values():
            params.extend(group.parameters())

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for name, group in groups.items():
                kwargs[name] = group.take(kwargs)
            return fn(*args, **kwargs)

        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        del wrapper.__wrapped__  # Typer must read the new signature, not the original one
        return wrapper

    return deco


# ----------------------------------------------------------------------------- groups
def _server(v: Dict[str, Any]):
    from skills.pipeline.servers import ServerOptions

    return ServerOptions(v["server_type"], v["model"], v["server_address"], v["server_gpus"],
                         v["server_nodes"] if v["server_nodes"] is not None else 1, v["server_args"] or "",
                         v["server_container"], v.get("server_entrypoint"),
                         v["server_replicas"] if v.get("server_replicas") is not None else 1)


SERVER = Group([
    Opt("server_type", Optional[str], None, "vllm|sglang|trtllm|megatron|generic (hosted) or openai|... (API)."),
    Opt("model", Optional[str], None, "Model path or API model name."),
    Opt("server_address", Optional[str], None, "URL of an existing server/API."),
    Opt("server_gpus", Optional[int], None, "Host a server in each job with this many GPUs."),
    Opt("server_nodes", Optional[int], None, "Nodes for the hosted server (default 1)."),
    Opt("server_replicas", Optional[int], None, "Hosted servers of the model per job, each with --server_gpus "
        "GPUs on its own port; requests are spread over them (default 1)."),
    Opt("server_args", Optional[str], None, "Appended verbatim to the server command."),
    Opt("server_container", Optional[str], None, "Server container image (slurm)."),
    Opt("server_entrypoint", Optional[str], None, "Launch command of a 'generic' server type."),
], _server)


def _cluster(v: Dict[str, Any]):
    from skills.config.cluster import get_cluster_config
    from skills.config.errors import UsageError

    from skills.config.mounts import announce, localize

    cfg = get_cluster_config(v["cluster"], v["config_dir"])
    if v.get("mount_paths"):
        for m in v["mount_paths"].split(","):
            if m.count(":") != 1:
                raise UsageError(f"--mount_paths entry '{m}' must be src:dst")
            cfg.mounts.append(m)
    localize(cfg)  # a reference-style local config: container paths -> host paths, said in one line
    announce(cfg)
    return cfg


CLUSTER = Group([
    Opt("cluster", Optional[str], None, "Cluster config name or YAML path (local works without a file)."),
    Opt("config_dir", Optional[str], None, "Folder holding <cluster>.yaml."),
    Opt("mount_paths", Optional[str], None, "Extra src:dst mounts, comma separated."),
], _cluster)
CLUSTER_NO_MOUNTS = Group(CLUSTER.options[:2], _cluster)


def _slurm(v: Dict[str, Any]):
    from skills.config.errors import UsageError
    from skills.config.values import parse_json_kwargs
    from skills.pipeline.jobs import SlurmOptions

    if v["dependent_jobs"] < 0:
        raise UsageError("--dependent_jobs must be >= 0")
    return SlurmOptions(partition=v["partition"], qos=v["qos"], time_min=v["time_min"], exclusive=v["exclusive"],
                        sbatch_kwargs=parse_json_kwargs(v["sbatch_kwargs"], "--sbatch_kwargs"),
                        run_after=list(v["run_after"] or []), dependent_jobs=v["dependent_jobs"])


SLURM = Group([
    Opt("partition", Optional[str], None, "Slurm partition."),
    Opt("qos", Optional[str], None, "Slurm QoS."),
    Opt("time_min", Optional[str], None, "Slurm --time-min."),
    Opt("exclusive", Optional[bool], None, "Slurm --exclusive.", flag=True),
    Opt("sbatch_kwargs", Optional[str], None, "JSON object of extra sbatch parameters."),
    Opt("run_after", Optional[List[str]], None, "Slurm: wait for these experiments."),
    Opt("dependent_jobs", int, 0, "Extra chained copies of each job."),
], _slurm)


@dataclass(frozen=True)
class DryRun:
    enabled: bool
    format: str
    price_table: Optional[str] = None  # the estimate's prices (else $SKILLS_PRICE_TABLE, configs/prices.yaml)
    estimate_from: Optional[str] = None  # earlier results whose num_generated_tokens give expected lengths


DRY_RUN = Group([
    Opt("dry_run", bool, False, "Print the jobs and an estimate of requests, tokens and API cost; run nothing.",
        flag=True),
    Opt("dry_run_format", str, "text", "text or json."),
    Opt("price_table", Optional[str], None, "Dry run: YAML of model prices (USD per million input/output tokens) "
        "added to the example table configs/prices.yaml (or $SKILLS_PRICE_TABLE)."),
    Opt("estimate_from", Optional[str], None, "Dry run: an earlier output folder whose num_generated_tokens give "
        "the expected generation lengths (the output folder's own are used anyway)."),
], lambda v: DryRun(v["dry_run"], v["dry_run_format"], v["price_table"], v["estimate_from"]))


# ----------------------------------------------------------------------------- reference options
def _reference(v: Dict[str, Any]):
    from skills.pipeline.reference_options import ReferenceOptions

    return ReferenceOptions(**v)


REFERENCE = Group([
    Opt("installation_command", Optional[str], None, "Shell command run once per node before each job's commands."),
    Opt("check_mounted_paths", Optional[bool], None, "Create the mounts' host folders and check them.", flag=True),
    Opt("skip_hf_home_check", Optional[bool], None, "Skip the HF_HOME-is-mounted check (containers).", flag=True),
    Opt("keep_mounts_for_sandbox", Optional[bool], None, "Reference: give the sandbox the mounts.", flag=True),
    Opt("reuse_code", Optional[bool], None, "Reference: reuse the packaged code of an earlier run.", flag=True),
    Opt("reuse_code_exp", Optional[str], None, "Reference: experiment whose packaged code to reuse."),
], _reference)


def _wandb(v: Dict[str, Any]):
    from skills.pipeline.wandb import WandbOptions

    return WandbOptions(**v)


WANDB = Group([
    Opt("wandb_name", Optional[str], None, "Log metrics to this Weights & Biases run (metrics jobs)."),
    Opt("wandb_group", Optional[str], None, "W&B group."),
    Opt("wandb_project", str, "nemo-skills", "W&B project."),
    Opt("log_samples", bool, False, "Upload 200 random samples of the first seed's output to W&B.", flag=True),
], _wandb)
