"""Model servers of a plan: the ``--server_*`` options checked, hosted servers placed (port, launch
line, container, secrets by name) and the ``++server.*`` settings that point a program at one.

Ports are decided at plan time, so ``--dry_run`` shows exactly what the executor will start.
"""

from __future__ import annotations

import os
import random
import re
import shlex
from dataclasses import dataclass
from typing import List, Optional, Sequence, Set, Tuple

from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.config.secrets import env_reference, has_userinfo, move_secret_server_args
from skills.inference.settings import check_url
from skills.servers.commands import build_server_command, client_base_url, health_url, server_tasks_per_node
from skills.servers.ports import find_free_port
from skills.servers.spec import ServerSpec

HOSTED_TYPES = ("vllm", "sglang", "trtllm", "megatron", "generic")  # generic: --server_entrypoint starts it
API_TYPES = ("openai", "azureopenai", "gemini", "generic")  # generic: any OpenAI-compatible endpoint
SERVER_TYPES = tuple(dict.fromkeys(HOSTED_TYPES + API_TYPES))
# API hosts whose key must be present (passed by NAME, never by value)
API_KEY_BY_HOST = {
    "api.openai.com": "OPENAI_API_KEY",
    "integrate.api.nvidia.com": "NVIDIA_API_KEY",
    "generativelanguage.googleapis.com": "GEMINI_API_KEY",
}
DEFAULT_ADDRESS = {"openai": "https://api.openai.com/v1"}


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
    server_replicas: int = 1  # hosted servers of the model per job, each on its own port and GPUs

    @property
    def hosted(self) -> bool:
        return bool(self.server_gpus)


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
    replicas = opts.server_replicas if opts.server_replicas is not None else 1
    if replicas < 1:
        raise UsageError(f"{flag}_replicas must be >= 1")
    if replicas > 1 and not opts.hosted:
        raise UsageError(f"{flag}_replicas starts several hosted servers (with {flag}_gpus); for servers that "
                         f"already run, give their URLs comma-separated in {flag}_address")
    if replicas > 1 and opts.server_nodes > 1:
        raise UsageError(f"{flag}_replicas needs single-node servers ({flag}_nodes=1); each replica is a server "
                         "on the job's node")
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
            check_url(opts.server_address, f"{flag}_address")
        if not opts.model:
            raise UsageError(f"{flag}_address needs a model name ({model_flag})")


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
                port = find_free_port()
            if port not in self.used:
                self.used.add(port)
                return port
        raise UsageError("could not find a free port for the server")


def make_servers(opts: ServerOptions, cluster: ClusterConfig, ports: PortAllocator,
                 secret_prefix: str = "SKILLS_SERVER") -> List[ServerSpec]:
    """The hosted servers of one job: ``--server_replicas`` of them (none for an existing endpoint),
    each with its own port; replica r takes the r-th ``--server_gpus`` GPUs of the job."""
    first = make_server(opts, cluster, ports, secret_prefix)
    if first is None:
        return []
    count = max(1, opts.server_replicas or 1)
    out = [first]
    for r in range(1, count):
        spec = make_server(opts, cluster, ports, secret_prefix)
        assert spec is not None
        out.append(spec)
    for r, spec in enumerate(out):
        spec.replica, spec.replicas = r, count
    return out


def make_server(opts: ServerOptions, cluster: ClusterConfig, ports: PortAllocator,
                secret_prefix: str = "SKILLS_SERVER") -> Optional[ServerSpec]:
    """ServerSpec for a self-hosted server (None when talking to an existing endpoint). Secrets in
    ``--server_args`` (``--api-key V``...) reach the server through its environment, by name."""
    if not opts.hosted:
        return None
    if opts.server_nodes > 1 and not cluster.is_slurm:
        flag = "--judge_server_nodes" if secret_prefix == "SKILLS_JUDGE" else "--server_nodes"
        raise UsageError(f"{flag}={opts.server_nodes}: a server over several nodes needs a Slurm cluster "
                         f"(--cluster with executor: slurm); the {cluster.executor} executor runs on this machine only")
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
        tasks_per_node=server_tasks_per_node(opts.server_type, gpus, opts.server_nodes, cluster.is_slurm),  # type: ignore
    )


def server_secrets(server: Optional[ServerSpec]) -> List[str]:
    """NAMES of the launcher variables a hosted server's secrets travel in."""
    if server is None:
        return []
    names = list(server.secret_env.values())
    names += re.findall(r'"\$([A-Z][A-Z0-9_]*)"', server.args)
    return list(dict.fromkeys([*names, *([server.api_key_env] if server.api_key_env else [])]))


def client_overrides(opts: ServerOptions, server: Optional[ServerSpec],
                     secret_prefix: str = "SKILLS_SERVER",
                     replicas: Sequence[ServerSpec] = ()) -> Tuple[List[str], List[str]]:
    """(``++server.*`` tokens, secret env NAMES) for the generation program; with ``replicas``
    (the further replicas of ``server``) every replica's URL, comma-separated. An address with
    ``user:password@`` is read from the environment (``<prefix>_ADDRESS``), never written."""
    secrets: List[str] = []
    if server is not None:
        base_url = ",".join(client_base_url(s.server_type, "127.0.0.1", s.port) for s in [server, *replicas])
    else:
        base_url = opts.server_address or DEFAULT_ADDRESS.get(opts.server_type or "", "")
    shown = base_url
    if has_userinfo(base_url):
        name = f"{secret_prefix}_ADDRESS"
        os.environ[name] = base_url
        shown = env_reference(name)
        secrets.append(name)
    if "," in shown:  # several endpoints: quoted, else Hydra's grammar reads a sweep
        shown = f"'{shown}'"
    toks = [f"++server.server_type={opts.server_type}", f"++server.base_url={shown}",
            f"++server.model={opts.model}"]
    key = server.api_key_env if server is not None else api_key_env(opts.server_type, base_url)
    if key:
        toks.append(f"++server.api_key_env_var={key}")
        secrets.append(key)
    return toks, secrets + [n for n in server_secrets(server) if n != key]
