"""The judge stage of ``ns eval``: an LLM grades each generated file with the generation program itself
(the judge's prompt, ``++generation_key=judgement``), reading ``tmp-eval-results/<bench>/`` and
writing ``eval-results/<bench>/`` (see docs/judge.md).

A benchmark's ``JudgeDefaults`` say which judge and arguments it uses; any ``--judge_*`` option
(or ``--judge_pipeline_kwargs``, applied last) changes them, and opts every benchmark in.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from skills.config.errors import UsageError
from skills.config.overrides import Override
from skills.config.values import parse_json_kwargs
from skills.inference.prompts import prompt_notice
from skills.pipeline.jobs import build_jobs, chain, name_jobs, pack
from skills.pipeline.plan import Job, Plan
from skills.pipeline.programs import DEFAULT_MODULE, REFERENCE_MODULES, Program, generation_module
from skills.pipeline.runs import RunChecks, RunRequest, check_settings, output_name, plan_runs
from skills.pipeline.servers import ServerOptions, check_server_options, client_overrides
from skills.registry.spec import BenchmarkSpec

# Judge arguments of benchmarks without a judge of their own (any --judge_* option opts them in).
GENERIC_JUDGE_ARGS = ("++prompt_config=judge/generic", "++generation_key=judgement", "++add_generation_stats=False")

JUDGE_KWARGS = ("model", "server_type", "server_address", "server_gpus", "server_nodes", "server_args",
                "server_entrypoint", "server_container", "generation_type", "generation_module", "server_replicas")


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
    server_replicas: Optional[int] = None

    @classmethod
    def from_server(cls, values: Dict[str, Any], extra_judge_args: str = "",
                    pipeline_kwargs: Optional[str] = None) -> "JudgeOptions":
        """From the ``--judge_*`` options (None = not given) and ``--judge_pipeline_kwargs`` (JSON)."""
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
                   values.get("generation_module"), pipeline, values.get("server_replicas"))

    @property
    def any_set(self) -> bool:
        """Any ``--judge_*`` option given: every benchmark gets a judge step (as in the reference)."""
        return any(v is not None for v in (self.model, self.server_type, self.server_address,
                                           self.server_gpus, self.server_nodes, self.server_args,
                                           self.server_entrypoint, self.server_container, self.generation_module,
                                           self.server_replicas))


@dataclass
class Judge:
    """A benchmark's judge, validated at plan time: its server, program and ``++`` settings."""

    server: ServerOptions
    program: Program
    settings: List[Override]  # the judge's defaults, then --extra_judge_args
    client: List[Override] = field(default_factory=list)  # its ++server.* tokens (an example: ports are per job)
    prompt_check: Optional[str] = None  # where plan-time checks find the prompt set (skills.pipeline.prompts)


def judge_server(spec: BenchmarkSpec, j) -> ServerOptions:
    d = spec.judge
    opts = ServerOptions(
        server_type=d.server_type if d else None, model=d.model if d else None,
        server_address=d.server_address if d else None,
    )
    if j.server_gpus:
        opts.server_address = None
    for attr in ("model", "server_type", "server_address", "server_gpus", "server_args", "server_entrypoint",
                 "server_container"):
        if getattr(j, attr, None) is not None:
            setattr(opts, attr, getattr(j, attr))
    if j.server_nodes is not None:
        opts.server_nodes = j.server_nodes
    if getattr(j, "server_replicas", None) is not None:
        opts.server_replicas = j.server_replicas
    pipeline = getattr(j, "pipeline", None) or {}
    if pipeline.get("server_gpus") and "server_address" not in pipeline:
        opts.server_address = None  # self-hosted judge
    for key, value in pipeline.items():  # --judge_pipeline_kwargs, applied last
        if key != "generation_module":
            setattr(opts, key, value)
    opts.server_args = opts.server_args or ""
    if opts.server_type is None and not opts.hosted:
        opts.server_type = "openai"  # benchmarks without judge defaults: an API judge
    return opts


def judge_module(j, spec: Optional[BenchmarkSpec] = None) -> str:
    """The judge's program, in the reference's order of precedence: ``--judge_pipeline_kwargs``
    (applied last), else ``--judge_generation_module``/``_type``, else the benchmark's own
    (``JudgeDefaults.generation_module``, e.g. arena-hard's pairwise judge, or ``generation_type``,
    e.g. omni-math's ``math_judge``), else the default program. The reference's module names that
    have an equivalent here map to it."""
    own = spec.judge if spec is not None else None
    module = ((getattr(j, "pipeline", None) or {}).get("generation_module") or getattr(j, "generation_module", None)
              or (own.generation_module if own else None)
              or generation_module(own.generation_type if own else None, None,
                                   f"{spec.name if spec is not None else 'the'} judge generation")
              or DEFAULT_MODULE)
    return REFERENCE_MODULES.get(module, module)


def judge_args(spec: BenchmarkSpec, program: Program) -> Tuple[str, ...]:
    """The benchmark's judge arguments (the reference's JUDGE_ARGS). A benchmark without a judge of
    its own that is opted in gets ours (``judge/generic``), unless the judge program has a prompt of
    its own (``math_judge``: ``judge/math``, output key and statistics set), which then gets none, as
    in the reference."""
    if spec.judge:
        return spec.judge.args
    own_prompt = next((f.default for f in dataclasses.fields(program.schema) if f.name == "prompt_config"), None)
    return () if isinstance(own_prompt, str) else GENERIC_JUDGE_ARGS


def judge_settings(spec: BenchmarkSpec, j: JudgeOptions, judge_extra: List[str], prompt_check: Optional[str] = None,
                   plan: Optional[Plan] = None) -> Judge:
    """The judge of ``spec``, validated now (a prompt notice goes to ``plan``)."""
    jopts = judge_server(spec, j)
    check_server_options(jopts, "--judge_server", "--judge_model")
    program = Program(judge_module(j, spec))
    jclient = program.parse(client_overrides(jopts, None, "SKILLS_JUDGE")[0])
    settings = program.parse([*judge_args(spec, program), *judge_extra])
    program.check_order([*jclient, *settings], f"{spec.name} judge arguments")
    cfg = program.config([*jclient, *settings], f"{spec.name} judge", prompt_check)
    if plan is not None:
        notice = prompt_notice(cfg)
        if notice:
            plan.notes.append(f"{spec.name} judge: {notice}")
    return Judge(jopts, program, settings, jclient, prompt_check)


def judge_jobs(bench: Any, o: Any, ports: Any, log_dir: str, deps_of: Callable[[Optional[int]], List[str]],
               needed_env: set) -> Tuple[List[Job], List[str]]:
    """The judge jobs of one benchmark (packed like its generations) and the names later stages wait for."""
    judge: Judge = bench.judge
    req = RunRequest(
        label=f"{bench.name} judge", program=judge.program, out_dir=bench.result_dir, seeds=bench.seeds,
        settings=judge.settings, input_of=lambda seed: os.path.join(bench.gen_dir, output_name(seed)),
        sampling=False, rerun_done=o.rerun_done, bench=bench.name)
    if not (o.cluster.is_slurm and o.cluster.ssh_tunnel is not None):
        # judged files made by another judge (or from other generations) are not done (the inputs
        # themselves are not read now: the generations may not exist yet)
        check_settings(req, RunChecks(judge.client, judge.prompt_check))
    runs, _, _ = plan_runs(req)
    num_jobs = o.num_jobs if o.num_jobs is not None else (-1 if o.cluster.is_slurm else 1)
    groups = pack(runs, num_jobs)
    names = [n.replace(f"-judge-{bench.name}", "-judge") for n in name_jobs(groups, f"{o.expname}-{bench.name}-judge")]
    jobs = build_jobs(groups, names, "judge", judge.server, o.cluster, o.slurm, ports, log_dir, needed_env,
                      sequential=o.single_node_mode == "sequential")
    for job, group in zip(jobs, groups):
        job.dependencies = list(dict.fromkeys(d for r in group for d in deps_of(r.seed)))
    all_jobs, last = chain(jobs, o.slurm.dependent_jobs)
    return all_jobs, list(last.values())
