"""Cluster configs: typed YAML schema, lookup by name, and the built-in ``local`` config.

A config says where jobs run (``executor: local | none | slurm``), what environment they get, and
where each server type lives (``servers: {vllm: {venv: .venv-vllm}}``). Unknown keys and wrong
types are errors naming the file and the key: a typo in a cluster config should not silently turn
into a default.

Relative ``servers.*.venv`` paths resolve against the folder that CONTAINS the config folder (the
repository root for ``cluster_configs/cpu-local.yaml``), so they work from any working directory;
for configs shipped inside the installed package they resolve against the working directory.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from skills.config.errors import UsageError
from skills.config.interpreters import python_env_var, repo_venv

EXECUTORS = ("local", "none", "slurm")
CONFIG_DIR_ENVS = ("SKILLS_CONFIG_DIR", "NEMO_SKILLS_CONFIG_DIR")


@dataclass
class SshTunnel:
    host: str
    user: Optional[str] = None  # None -> $USER
    job_dir: str = ""  # remote folder for code, sbatch scripts and metadata (absolute)
    identity: Optional[str] = None
    port: int = 22
    shell: Optional[str] = None
    pre_command: Optional[str] = None


@dataclass
class ServerEnv:
    """Where one server type runs: a container image, a virtualenv, and/or a command prefix."""

    container: Optional[str] = None
    venv: Optional[str] = None
    command_prefix: str = ""
    python: Optional[str] = None  # interpreter; default <venv>/bin/python or python3
    env: Dict[str, str] = field(default_factory=dict)

    def interpreter(self) -> str:
        if self.python:
            return self.python
        if self.venv:
            return str(Path(self.venv) / "bin" / "python")
        return "python3"


@dataclass
class ClusterConfig:
    executor: str = "none"
    name: str = "local"
    path: Optional[str] = None  # the YAML file (None for the built-in default)
    containers: Dict[str, str] = field(default_factory=dict)
    mounts: List[str] = field(default_factory=list)
    env_vars: List[str] = field(default_factory=list)  # NAME (passed by name) or NAME=value
    required_env_vars: List[str] = field(default_factory=list)
    account: Optional[str] = None
    partition: Optional[str] = None
    cpu_partition: Optional[str] = None
    job_name_prefix: str = ""
    ssh_tunnel: Optional[SshTunnel] = None
    job_dir: Optional[str] = None
    timeouts: Dict[str, str] = field(default_factory=dict)
    default_timeout: Optional[str] = None
    dependency_type: str = "afterany"
    mpi: Optional[str] = None  # srun --mpi=<value> (e.g. pmix) where the cluster needs it
    num_workers: int = 4
    mail_type: Optional[str] = None
    mail_user: Optional[str] = None
    disable_gpus_per_node: bool = False
    skip_hf_home_check: bool = False
    sbatch_kwargs: Dict[str, Any] = field(default_factory=dict)
    servers: Dict[str, ServerEnv] = field(default_factory=dict)
    # named Python environments for graders and sidecars whose dependencies clash with ours
    # (e.g. bfcl: {venv: .venv-bfcl}); jobs get $SKILLS_PYTHON_<NAME> pointing at each interpreter
    environments: Dict[str, ServerEnv] = field(default_factory=dict)
    # address hosted model servers listen on: None = 127.0.0.1 for local runs (nothing else on the
    # network can reach them), 0.0.0.0 on Slurm (clients may sit on another node of the allocation)
    server_host: Optional[str] = None
    description: str = ""

    @property
    def is_slurm(self) -> bool:
        return self.executor == "slurm"

    def server_env(self, server_type: str) -> ServerEnv:
        return self.servers.get(server_type, ServerEnv())

    def listen_host(self) -> str:
        return self.server_host or ("0.0.0.0" if self.is_slurm else "127.0.0.1")

    def environment(self, name: str) -> Optional[ServerEnv]:
        """A named environment, or the repository's ``.venv-<name>`` when the config names none."""
        if name in self.environments:
            return self.environments[name]
        local = repo_venv(name)
        return ServerEnv(venv=str(local)) if (local / "bin" / "python").exists() else None

    def container(self, key: str) -> Optional[str]:
        """Container images only matter on Slurm; local runs use plain processes."""
        return self.containers.get(key) if self.is_slurm else None

    def timeout_for(self, partition: Optional[str]) -> Optional[str]:
        return self.timeouts.get(partition or self.partition or "", self.default_timeout)

    def job_env(self) -> Tuple[Dict[str, str], List[str]]:
        """(literal NAME=value pairs, NAMES passed from the launching environment)."""
        literal: Dict[str, str] = {}
        names: List[str] = []
        for entry in [*self.required_env_vars, *self.env_vars]:
            name, eq, value = entry.partition("=")
            if eq:
                literal[name.strip()] = os.path.expandvars(value)
            elif name.strip() and name.strip() not in names:
                names.append(name.strip())
        for env_name, env in self.environments.items():
            if env.venv or env.python:
                literal[python_env_var(env_name)] = env.interpreter()
        return literal, names

    def missing_required_env(self) -> List[str]:
        return [e for e in self.required_env_vars if "=" not in e and e.strip() not in os.environ]


_NESTED = {"ssh_tunnel": SshTunnel}
HOSTED_SERVER_TYPES = ("vllm", "sglang", "trtllm", "megatron", "generic")


def _check_type(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _check_type(value, args[0], where)
    if tp is Any:
        return value
    if origin in (list, List):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise UsageError(f"{where}: expected a list, got {type(value).__name__}")
        return [_check_type(v, typing.get_args(tp)[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, Dict):
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise UsageError(f"{where}: expected a mapping, got {type(value).__name__}")
        vt = typing.get_args(tp)[1]
        return {str(k): _check_type(v, vt, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _from_dict(tp, value, where)
    if tp is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise UsageError(f"{where}: expected a string, got {type(value).__name__}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise UsageError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{where}: expected an integer, got {value!r}")
        return value
    return value


def _from_dict(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=2)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"{where}: unknown key '{key}'{hint}")
        kwargs[key] = _check_type(value, hints[key], f"{where}.{key}" if where else key)
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in kwargs:
            raise UsageError(f"{where}: missing required key '{f.name}'")
    return cls(**kwargs)


def _resolve_venv(venv: str, config_path: Optional[Path]) -> str:
    from skills.resources import _PKG

    p = Path(os.path.expanduser(os.path.expandvars(venv)))
    if p.is_absolute():
        return str(p)
    if config_path is not None and _PKG not in config_path.resolve().parents:
        return str((config_path.resolve().parent.parent / p).resolve())
    return str(Path.cwd() / p)


def parse_cluster_config(data: Any, name: str, path: Optional[Path] = None) -> ClusterConfig:
    """Validate a loaded YAML mapping; errors name the file and the key."""
    where = str(path) if path else name
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{where}: a cluster config must be a mapping of keys, got {type(data).__name__}")
    data = dict(data)
    data.pop("name", None)
    data.pop("path", None)
    try:  # key paths relative to the file: "<file>: ssh_tunnel.port: expected an integer"
        cfg: ClusterConfig = _from_dict(ClusterConfig, data, "")
    except UsageError as exc:
        raise UsageError(f"{where}: {exc.message.lstrip(': ')}") from None
    cfg.name, cfg.path = name, str(path) if path else None
    if cfg.executor not in EXECUTORS:
        raise UsageError(f"{where}: executor must be one of {', '.join(EXECUTORS)}, got '{cfg.executor}'")
    for srv, env in cfg.servers.items():
        if srv not in HOSTED_SERVER_TYPES:  # a typo would silently run the server from the default python
            close = difflib.get_close_matches(str(srv), HOSTED_SERVER_TYPES, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise UsageError(f"{where}: servers.{srv}: unknown server type (one of "
                             f"{', '.join(HOSTED_SERVER_TYPES)}){hint}")
        if env.venv:
            env.venv = _resolve_venv(env.venv, path)
    for env in cfg.environments.values():
        if env.venv:
            env.venv = _resolve_venv(env.venv, path)
    for entry in cfg.env_vars + cfg.required_env_vars:
        if entry.count("=") > 1 and not entry.partition("=")[2]:
            raise UsageError(f"{where}: env var entry '{entry}' is malformed")
    if cfg.ssh_tunnel is not None:
        t = cfg.ssh_tunnel
        t.user = os.path.expandvars(t.user) if t.user else os.environ.get("USER")
        t.job_dir = os.path.expandvars(t.job_dir)
        if t.identity:
            t.identity = os.path.expanduser(os.path.expandvars(t.identity))
            if "$" in t.identity:
                raise UsageError(f"{where}: ssh_tunnel.identity uses an unset variable: {t.identity}")
        if not t.job_dir or not t.job_dir.startswith("/"):
            raise UsageError(f"{where}: ssh_tunnel.job_dir must be an absolute path")
    if cfg.is_slurm:
        if not cfg.account:
            raise UsageError(f"{where}: slurm configs need 'account'")
        if not cfg.partition:
            raise UsageError(f"{where}: slurm configs need 'partition'")
        if cfg.ssh_tunnel is None and not (cfg.job_dir and cfg.job_dir.startswith("/")):
            raise UsageError(f"{where}: slurm configs need 'ssh_tunnel' or an absolute 'job_dir'")
    return cfg


def load_cluster_config_file(path: Path, name: Optional[str] = None) -> ClusterConfig:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read cluster config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"{path}: invalid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    return parse_cluster_config(data, name or path.stem, path)


def search_dirs(config_dir: Optional[str] = None) -> List[Path]:
    """Where ``--cluster NAME`` is looked up, in order."""
    if config_dir:
        return [Path(config_dir)]
    for env in CONFIG_DIR_ENVS:
        if os.environ.get(env):
            return [Path(os.environ[env])]
    from skills.resources import cluster_configs_dir

    dirs = [Path.cwd() / "cluster_configs", cluster_configs_dir()]
    return list(dict.fromkeys(d.resolve() for d in dirs))


def builtin_local() -> ClusterConfig:
    """``--cluster=local`` with no file: plain processes on this machine, no containers."""
    return ClusterConfig(executor="local", name="local")


def get_cluster_config(cluster: Optional[str] = None, config_dir: Optional[str] = None) -> ClusterConfig:
    """Resolve ``--cluster`` (a name or a path to a YAML file); None -> ``$SKILLS_CONFIG``/local."""
    if cluster is None:
        env_path = os.environ.get("SKILLS_CONFIG") or os.environ.get("NEMO_SKILLS_CONFIG")
        if env_path:
            p = Path(env_path)
            if not p.is_file():
                raise UsageError(f"cluster config {p} (from $SKILLS_CONFIG/$NEMO_SKILLS_CONFIG) does not exist")
            return load_cluster_config_file(p)
        cfg = builtin_local()
        cfg.executor, cfg.name = "none", "none"
        return cfg
    if cluster.endswith((".yaml", ".yml")) and Path(cluster).is_file():
        return load_cluster_config_file(Path(cluster))
    dirs = search_dirs(config_dir)
    for d in dirs:
        for ext in (".yaml", ".yml"):
            p = d / f"{cluster}{ext}"
            if p.is_file():
                return load_cluster_config_file(p, cluster)
    if cluster in ("local", "none"):
        cfg = builtin_local()
        cfg.executor, cfg.name = cluster, cluster
        return cfg
    names = sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.y*ml")})
    close = difflib.get_close_matches(cluster, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else (f"; available: {', '.join(names)}" if names else "")
    raise UsageError(
        f"cluster config '{cluster}' not found in {', '.join(str(d) for d in dirs)}{hint}"
    )
