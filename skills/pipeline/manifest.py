"""The run manifest: what produced the files of an output folder, recorded once per run.

``ns eval`` / ``ns generate`` write ``<out>/manifests/<run>.json`` when a plan starts (the command,
every job's programs and server line, the resolved overrides per benchmark, seeds, data and prompt
checksums, package versions, the project's git commit) and keep ``<out>/manifest.json`` as the
merged view: per benchmark the settings of the latest run that wrote its files, and per output file
the run that wrote it. A run claims only the files it writes: those it found finished keep their
run (and a run that writes none leaves the benchmark's entry as it was).
``ns summarize_results`` adds row counts and warns when the seed files it combines come from runs
whose settings differ (the format and the readers: ``skills.data.manifest``). Secrets never appear:
commands are masked and keys travel by name.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from skills.config.secrets import redact
from skills.data.manifest import MANIFEST, RUNS, count_rows, locked, read, sha256, write

PACKAGES = ("skills", "hydra-core", "omegaconf", "math-verify", "sympy", "aiohttp", "nemo-run", "numpy")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def package_versions(server_python: Optional[str] = None, server_package: Optional[str] = None) -> Dict[str, str]:
    from importlib import metadata

    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    if server_python and server_package and os.path.exists(server_python):
        probe = f"import importlib.metadata as m; print(m.version({server_package!r}))"
        try:
            res = subprocess.run([server_python, "-c", probe], capture_output=True, text=True, timeout=30)
            if res.returncode == 0:
                out[f"{server_package} (server)"] = res.stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
    return out


def git_state() -> Dict[str, Any]:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return {}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return {"git_commit": commit, "git_dirty": bool(dirty)} if commit else {}


def prompt_info(config: Optional[str], prompt_set_dir: Optional[str] = None) -> Dict[str, Any]:
    """The prompt file a run resolves ``config`` to, its checksum and its source (reference set or ours)."""
    if not config:
        return {}
    info: Dict[str, Any] = {"config": config}
    try:
        from skills.inference.prompts import resolve_prompt

        path, source, _, _ = resolve_prompt(config, prompt_set_dir)
        info.update(file=str(path), sha256=sha256(str(path)), source=source)
    except Exception:  # noqa: BLE001 - the run itself reports a bad prompt; the manifest just records
        pass
    return info


def write_run(plan: Any, argv: Sequence[str], cluster: Any = None) -> Optional[Path]:
    """Record a starting run (``plan.manifest`` holds the planners' per-benchmark settings).
    Nothing is written for outputs on a remote cluster (reached over ssh)."""
    out = plan.output_dir
    if not out or (cluster is not None and cluster.is_slurm and cluster.ssh_tunnel is not None):
        return None
    root = Path(out)
    run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{plan.expname}-{os.getpid()}"
    server = next((j.server for j in plan.jobs if j.server is not None), None)
    from skills.prompt_sets import DIR_ENV

    prompt_set = next((j.env[DIR_ENV] for j in plan.jobs if DIR_ENV in j.env), None)
    benchmarks = {}
    for name, entry in (plan.manifest or {}).items():
        entry = dict(entry)
        data = entry.get("data") or {}
        if data.get("file"):
            entry["data"] = {**data, "sha256": sha256(data["file"]), "rows": count_rows(data["file"])}
        entry["prompt"] = prompt_info(entry.get("prompt_config"), prompt_set)
        benchmarks[name] = entry
    record = {
        "run": run_id, "started": _now(), "command": redact(" ".join(argv)), "expname": plan.expname,
        "cluster": plan.cluster, "executor": plan.executor, **git_state(),
        "packages": package_versions(*(_server_python(server) if server else (None, None))),
        "server": ({"type": server.server_type, "model": server.model, "args": redact(server.args),
                    "gpus": server.gpus, "nodes": server.nodes, "command": redact(server.command),
                    "replicas": server.replicas}
                   if server else None),
        "benchmarks": benchmarks,
        "jobs": [{"name": j.name, "kind": j.kind, "programs": [[redact(a) for a in p] for p in j.programs],
                  "sidecars": [s.name for s in j.sidecars], "secret_env": list(j.secret_env)} for j in plan.jobs],
    }
    path = root / RUNS / f"{run_id}.json"
    write(path, record)
    with locked(root):
        merged = read(root / MANIFEST)
        merged.setdefault("runs", []).append(run_id)
        # a benchmark's settings are the run's that wrote its files: a run that only found them
        # finished (a no-op re-run) leaves the entry, and its prompt source, as it was
        merged.setdefault("benchmarks", {}).update(
            {name: {k: v for k, v in entry.items() if k != "outputs"} | {"run": run_id}
             for name, entry in benchmarks.items() if entry.get("outputs")})
        files = merged.setdefault("files", {})
        for entry in benchmarks.values():
            for output in entry.get("outputs", []):
                files[os.path.relpath(output, root)] = run_id
        write(root / MANIFEST, merged)
    return path


def _server_python(server: Any) -> tuple:
    words = server.command.split()
    python = next((w for w in words if w.endswith("/python") or w.endswith("/python3")), None)
    return python, {"vllm": "vllm", "sglang": "sglang"}.get(server.server_type)


def finish_run(path: Optional[Path], exit_code: int) -> None:
    if path is None:
        return
    record = read(path)
    if record:
        record.update(finished=_now(), exit_code=exit_code)
        write(path, record)
