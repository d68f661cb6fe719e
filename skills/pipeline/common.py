"""Pieces shared by the planners: server placement, client overrides, seeds/chunks, job packing.

Everything here is decided at plan time (ports included) so that ``--dry_run`` shows exactly what
the executor will run.
"""

from __future__ import annotations

import os
import random
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple, TypeVar

from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.config.values import parse_ids, parse_json_kwargs  # noqa: F401
from skills.pipeline.plan import Job, ServerSpec

HOSTED_TYPES = ("vllm", "sglang", "trtllm", "megatron", "generic")  # generic: --server_entrypoint starts it
API_TYPES = ("openai", "azureopenai", "gemini", "generic")  # generic: any OpenAI-compatible endpoint
SERVER_TYPES = tuple(dict.fromkeys(HOSTED_TYPES + API_TYPES))
SAMPLING_DEFAULTS = ("++inference.temperature=0.7", "++inference.top_k=-1", "++inference.top_p=0.95")
# API hosts whose key must be present (passed by NAME, never by value)
API_KEY_BY_HOST = {
    "api.openai.com": "OPENAI_API_KEY",
    "integrate.api.nvidia.com": "NVIDIA_API_KEY",
    "generativelanguage.googleapis.com": "GEMINI_API_KEY",
}
DEFAULT_ADDRESS = {"openai": "https://api.openai.com/v1"}
T = TypeVar("T")


@dataclass
class ServerOptions:
    """The ``--model/--server_*`` options (also used for the judge with its own values)."""

    server_type: Optional[str] = None
    model: Optional[str] = None
    server_address: Optional[str] = None
    server_gpus: Optional[int] = None
    server_nodes: int = 1
    server_args: str = ""
    server_container: Optional[str] = None
    server_entrypoint: Optional[str] = None

    @property
    def hosted(self) -> bool:
        return bool(self.server_gpus)


@dataclass
class SlurmOptions:
    partition: Optional[str] = None
    qos: Optional[str] = None
    time_min: Optional[str] = None
    exclusive: Optional[bool] = None
    sbatch_kwargs: Dict[str, str] = field(default_factory=dict)
    run_after: List[str] = field(default_factory=list)
    dependent_jobs: int = 0


RESERVED = ("input_file", "output_file")  # set by the planners, per seed and chunk


def check_reserved(tokens: Sequence[str], flag: str, use: str) -> None:
    """``++input_file``/``++output_file`` would send a job's output where the plan does not look."""
    for tok in tokens:
        key = tok.lstrip("+~").split("=", 1)[0]
        if key in RESERVED:
            raise UsageError(f"{tok}: {key} is set by ns from {use}; do not pass it in {flag}")


def check_expname(expname: str) -> None:
    """Experiment names become file and job names: no path separators, no surprises."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", expname or ""):
        raise UsageError(f"--expname '{expname}': use letters, digits and . _ + - (no spaces or '/')")


def chunk_ids_for(num_chunks: Optional[int], chunk_ids: Optional[str]) -> List[Optional[int]]:
    """Chunk ids to run, validated against ``num_chunks`` (the reference does not check)."""
    ids = parse_ids(chunk_ids, "chunk_ids")
    if num_chunks is None:
        if ids is not None:
            raise UsageError("--chunk_ids needs --num_chunks (or a benchmark with NUM_CHUNKS)")
        return [None]
    if num_chunks < 1:
        raise UsageError(f"--num_chunks must be >= 1, got {num_chunks}")
    if ids is None:
        return list(range(num_chunks))
    bad = [i for i in ids if not 0 <= i < num_chunks]
    if bad:
        raise UsageError(f"--chunk_ids {bad} out of range for --num_chunks={num_chunks} (0..{num_chunks - 1})")
    return ids


def output_name(seed: Optional[int], chunk: Optional[int] = None) -> str:
    """``output.jsonl`` / ``output-rs3.jsonl`` / ``output-rs3_chunk_5.jsonl`` (reference layout)."""
    base = "output" if seed is None else f"output-rs{seed}"
    return f"{base}_chunk_{chunk}.jsonl" if chunk is not None else f"{base}.jsonl"


def seed_overrides(seed: Optional[int]) -> List[str]:
    if seed is None:
        return []
    return [f"++inference.random_seed={seed}", *SAMPLING_DEFAULTS]


def api_key_env(server_type: Optional[str], address: Optional[str]) -> Optional[str]:
    """Name of the environment variable holding the key for an API endpoint (None if none needed)."""
    if not address:
        return None
    host = re.sub(r"^\w+://", "", address).split("/")[0].split(":")[0]
    if host in API_KEY_BY_HOST:
        return API_KEY_BY_HOST[host]
    if server_type == "azureopenai":
        return "AZURE_OPENAI_API_KEY"
    return None


PATH_LOADING_TYPES = ("vllm", "sglang", "trtllm", "megatron")  # hosted servers that load --model from a path


def check_server_options(opts: ServerOptions, flag: str = "--server", model_flag: str = "--model") -> None:
    st = opts.server_type
    if st is None:
        raise UsageError(f"{flag}_type is required ({', '.join(SERVER_TYPES)})")
    if st not in SERVER_TYPES:
        raise UsageError(f"{flag}_type must be one of {', '.join(SERVER_TYPES)}, got '{st}'")
    if opts.server_gpus is not None and opts.server_gpus < 0:
        raise UsageError(f"{flag}_gpus must be >= 0")
    if opts.server_nodes < 1:
        raise UsageError(f"{flag}_nodes must be >= 1")
    try:  # pasted verbatim into a shell command: an unbalanced quote would only fail in the job
        shlex.split(opts.server_args or "")
    except ValueError as exc:
        raise UsageError(f"{flag}_args {opts.server_args!r}: {exc}") from None
    if opts.hosted:
        if opts.server_address:
            raise UsageError(f"give either {flag}_gpus (host a server in each job) or {flag}_address "
                             "(use a running one), not both")
        if st not in HOSTED_TYPES:
            raise UsageError(f"{flag}_type={st} cannot be self-hosted; drop {flag}_gpus or use "
                             f"{', '.join(HOSTED_TYPES)}")
        if not opts.model:
            raise UsageError(f"a self-hosted server ({flag}_gpus) needs {model_flag}")
        if st == "generic" and not opts.server_entrypoint:
            raise UsageError(f"a self-hosted {flag}_type=generic needs {flag}_entrypoint (the command that starts it)")
    else:
        if not (opts.server_address or DEFAULT_ADDRESS.get(st)):
            raise UsageError(f"{flag}_type={st} without {flag}_gpus needs {flag}_address (an existing server)")
        if opts.server_address:
            from skills.inference.settings import check_url

            check_url(opts.server_address, f"{flag}_address")
        if not opts.model:
            raise UsageError(f"{flag}_address needs a model name ({model_flag})")


def check_model_paths(jobs: Sequence[Job], cluster: ClusterConfig) -> None:
    """Before a run on this machine starts: a server that loads its model from a path that does not
    exist would only fail in its job (a dry run still prints the plan)."""
    if cluster.is_slurm:
        return  # the path is on the cluster (or in its container)
    for job in jobs:
        s = job.server
        model = str(s.model) if s is not None else ""
        if (s is not None and s.server_type in PATH_LOADING_TYPES and model.startswith(("/", "./", "../", "~"))
                and not os.path.exists(os.path.expanduser(model))):
            flag = "--judge_model" if job.kind == "judge" else "--model"
            raise UsageError(f"{flag} {model}: no such file or folder (the {s.server_type} server of job "
                             f"{job.name} loads the model from it)")


class PortAllocator:
    """Free ports, distinct within one plan (each job hosting a server gets its own)."""

    def __init__(self, cluster: ClusterConfig):
        self.cluster = cluster
        self.used: Set[int] = set()

    def next(self) -> int:
        for _ in range(100):
            if self.cluster.is_slurm:  # the node is allocated later; cannot probe it from here
                port = random.randint(20000, 60000)
            else:
                from skills.servers.ports import find_free_port

                port = find_free_port()
            if port not in self.used:
                self.used.add(port)
                return port
        raise UsageError("could not find a free port for the server")


def make_server(opts: ServerOptions, cluster: ClusterConfig, ports: PortAllocator,
                secret_prefix: str = "SKILLS_SERVER") -> Optional[ServerSpec]:
    """ServerSpec for a self-hosted server (None when talking to an existing endpoint). Secrets in
    ``--server_args`` (``--api-key V``...) reach the server through its environment, by name."""
    if not opts.hosted:
        return None
    from skills.config.secrets import move_secret_server_args
    from skills.servers.commands import build_server_command, health_url

    env = cluster.server_env(opts.server_type)  # type: ignore[arg-type]
    port = ports.next()
    gpus = int(opts.server_gpus or 0)
    args, secret_env, moved = move_secret_server_args(opts.server_args or "", opts.server_type,
                                                      f"{secret_prefix}_ARGS")
    command = build_server_command(
        opts.server_type, opts.model, port, gpus, opts.server_nodes, args,
        python=env.interpreter(), prefix=env.command_prefix, host=cluster.listen_host(),
        entrypoint=opts.server_entrypoint, slurm=cluster.is_slurm,
    )
    container = opts.server_container or env.container or cluster.container(opts.server_type)  # type: ignore
    api_key = next((n for n in moved if n.endswith(("_API_KEY", "_APIKEY"))), None)
    return ServerSpec(
        server_type=opts.server_type, model=opts.model, gpus=gpus, nodes=opts.server_nodes,  # type: ignore
        port=port, args=args, command=command,
        health_url=health_url(opts.server_type, "127.0.0.1", port), container=container if cluster.is_slurm else None,
        env=dict(env.env), secret_env=secret_env, api_key_env=api_key,
    )


def server_secrets(server: Optional[ServerSpec]) -> List[str]:
    """NAMES of the launcher variables a hosted server's secrets travel in."""
    if server is None:
        return []
    names = list(server.secret_env.values())
    names += re.findall(r'"\$([A-Z][A-Z0-9_]*)"', server.args)
    return list(dict.fromkeys([*names, *([server.api_key_env] if server.api_key_env else [])]))


def client_overrides(opts: ServerOptions, server: Optional[ServerSpec],
                     secret_prefix: str = "SKILLS_SERVER") -> Tuple[List[str], List[str]]:
    """(``++server.*`` tokens, secret env NAMES) for the generation program. An address with
    ``user:password@`` is read from the environment (``<prefix>_ADDRESS``), never written."""
    from skills.config.secrets import env_reference, has_userinfo

    secrets: List[str] = []
    if server is not None:
        from skills.servers.commands import client_base_url

        base_url = client_base_url(server.server_type, "127.0.0.1", server.port)
    else:
        base_url = opts.server_address or DEFAULT_ADDRESS.get(opts.server_type or "", "")
    shown = base_url
    if has_userinfo(base_url):
        name = f"{secret_prefix}_ADDRESS"
        os.environ[name] = base_url
        shown = env_reference(name)
        secrets.append(name)
    toks = [f"++server.server_type={opts.server_type}", f"++server.base_url={shown}",
            f"++server.model={opts.model}"]
    key = server.api_key_env if server is not None else api_key_env(opts.server_type, base_url)
    if key:
        toks.append(f"++server.api_key_env_var={key}")
        secrets.append(key)
    return toks, secrets + [n for n in server_secrets(server) if n != key]


def program_argv(module: str, tokens: Sequence[str]) -> List[str]:
    """``python -m module tok...`` (a path ``x.py`` runs as a script)."""
    head = ["python", module] if module.endswith(".py") or "/" in module else ["python", "-m", module]
    return [*head, *tokens]


def shell_join(argv: Sequence[str]) -> str:
    return " ".join(shlex.quote(t) for t in argv)


def program_command(module: str, tokens: Sequence[str]) -> str:
    """``program_argv`` as one shell command, every token quoted."""
    return shell_join(program_argv(module, tokens))


def parallel_command(commands: Sequence[str]) -> str:
    """Run commands concurrently in one job and fail if ANY of them fails (no bare ``wait``)."""
    if len(commands) == 1:
        return commands[0]
    lines = ["pids=()"]
    lines += [f"( {c} ) & pids+=($!)" for c in commands]
    lines.append('rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done; exit $rc')
    return "\n".join(lines)


def pack(items: Sequence[T], num_jobs: int) -> List[List[T]]:
    """Deal items out contiguously: floor(total/num_jobs) each, the first ``total % num_jobs`` get one more."""
    total = len(items)
    if total == 0 or num_jobs == 0:
        return []
    n = total if num_jobs < 0 else min(num_jobs, total)
    base, extra = divmod(total, n)
    out, start = [], 0
    for i in range(n):
        size = base + (1 if i < extra else 0)
        out.append(list(items[start:start + size]))
        start += size
    return out


def apply_slurm(job: Job, cluster: ClusterConfig, slurm: SlurmOptions) -> Job:
    job.partition = slurm.partition or (None if not cluster.is_slurm else (
        cluster.cpu_partition if job.gpus == 0 and cluster.cpu_partition else cluster.partition))
    job.qos, job.time_min, job.exclusive = slurm.qos, slurm.time_min, slurm.exclusive
    job.sbatch_kwargs = dict(slurm.sbatch_kwargs)
    if cluster.is_slurm:
        job.time_limit = cluster.timeout_for(job.partition)
        job.container = job.container or cluster.containers.get("skills") or cluster.containers.get("nemo-skills")
    literal, names = cluster.job_env()
    job.env = {**literal, **job.env}
    job.secret_env = list(dict.fromkeys([*names, *job.secret_env]))
    return job


def chain(jobs: List[Job], dependent_jobs: int) -> Tuple[List[Job], Dict[str, str]]:
    """``--dependent_jobs D``: each job D more times, each copy after the previous one.

    Returns (all jobs, original name -> name of the last copy) so later stages depend on the last.
    """
    if dependent_jobs <= 0:
        return jobs, {j.name: j.name for j in jobs}
    import copy

    out: List[Job] = []
    last: Dict[str, str] = {}
    for job in jobs:
        prev = job
        out.append(job)
        for i in range(1, dependent_jobs + 1):
            dup = copy.deepcopy(job)
            dup.name, dup.chain_index, dup.dependencies = f"{job.name}-dep{i}", i, [prev.name]
            out.append(dup)
            prev = dup
        last[job.name] = prev.name
    return out, last


def default_data_dir(explicit: Optional[str]) -> str:
    if explicit:
        return explicit
    for env in ("SKILLS_DATA_DIR", "NEMO_SKILLS_DATA_DIR"):
        if os.environ.get(env):
            return os.environ[env]
    try:
        from skills.data import default_data_dir as _ddd  # type: ignore[attr-defined]

        return str(_ddd())
    except (ImportError, AttributeError):
        return str(Path.home() / ".cache" / "skills" / "data")


def check_program(tokens: Sequence[str], source: str, module: str = "skills.inference.generate",
                  prompt_set_dir: Optional[str] = None):
    """Run the generation module's own configuration checks (prompt config found, eval type and
    eval_config valid, ...) on the arguments a job will get, so mistakes fail before any job runs.
    ``prompt_set_dir`` is where the job will find the reference prompt set (the user's
    ``++prompt_set_dir`` still wins). Returns the config the job will see."""
    from skills.config.overrides import apply_overrides
    from skills.inference.task import task_of

    task = task_of(module)
    first = [f"++prompt_set_dir={prompt_set_dir}"] if prompt_set_dir else []
    last = []
    if prompt_set_dir == REMOTE_PROMPTS:  # the job's set is on the cluster: it decides there, not here
        first, last = ["++prompt_set_dir=none"], ["++prompt_source=own"]
    try:
        cfg = apply_overrides([*first, *tokens, *last, "++output_file=-"], task.config_class)
        task.check(cfg)
    except UsageError as exc:
        raise UsageError(f"{source}: {exc.message}") from None
    return cfg


def _prepared_here(task_cls: type) -> bool:
    """Requests are built at plan time only by the default task: a module's own ``prepare`` may need
    what only its job has (a tokenizer folder, a tool environment, staged files)."""
    from skills.inference.task import GenerationTask

    return task_cls.prepare is GenerationTask.prepare


def check_input(tokens: Sequence[str], source: str, module: str, prompt_set_dir: Optional[str]) -> None:
    """Read the input file (and build every request, as the job will, for the default task): a bad
    line or a prompt field a line lacks is one line and exit code 2 before anything starts, not a
    failed job."""
    from skills.inference.program import prepare_rows
    from skills.inference.settings import input_path, read_input
    from skills.inference.task import task_of

    cfg = check_program(tokens, source, module, prompt_set_dir)
    task_cls = task_of(module)
    if not _prepared_here(task_cls):
        read_input(input_path(cfg), cfg.prompt_format)
        return
    task = prepare_rows(cfg, task_cls)[0]
    task.close()


def check_resume(tokens: Sequence[str], source: str, module: str, prompt_set_dir: Optional[str],
                 target: str) -> None:
    """A resume the generation program would refuse (its journal was written from another input or
    with other settings) fails now, before any job starts or any manifest credits the run."""
    if not os.path.exists(f"{target}-async"):
        return
    from skills.inference.program import resume_problem
    from skills.inference.task import task_of

    task_cls = task_of(module)
    if not _prepared_here(task_cls):
        return  # its job refuses such a resume itself
    cfg = check_program(tokens, source, module, prompt_set_dir)
    problem = resume_problem(cfg, task_cls, Path(target))
    if problem:
        raise UsageError(f"{source}: {problem}")


def prompt_set_for_plan(data_dir: str, cluster: ClusterConfig) -> Tuple[str, Optional[str]]:
    """(``$SKILLS_PROMPT_SET_DIR`` for the jobs, folder to check prompts against here or None).

    On a cluster reached over ssh the jobs' folder is remote: plan-time checks then use a set
    fetched on this machine if there is one (``<default data dir>/.prompt-sets``)."""
    from skills.prompt_sets import planned_dir

    jobs = planned_dir(data_dir)
    if cluster.is_slurm and cluster.ssh_tunnel is not None:
        local = planned_dir(default_data_dir(None))
        return jobs, local if local == "none" or os.path.isdir(local) else REMOTE_PROMPTS
    return jobs, jobs


REMOTE_PROMPTS = "<remote>"  # prompt_set_for_plan: the jobs' set cannot be seen from here


def set_prompt_env(jobs, value: str) -> None:
    """Every generation and judge job learns where the reference prompt set is (and whether our own
    wording may stand in, when this process was told so by ``$SKILLS_PROMPT_SOURCE``)."""
    from skills.prompt_sets import DIR_ENV, SOURCE_ENV

    source = os.environ.get(SOURCE_ENV)
    for job in jobs:
        if job.kind in ("generation", "judge"):
            job.env.setdefault(DIR_ENV, value)
            if source:
                job.env.setdefault(SOURCE_ENV, source)
