"""The run manifest: what produced the files of an output folder, recorded once per run.

``ns eval`` / ``ns generate`` write ``<out>/manifests/<run>.json`` when a plan starts (the command,
every job's programs and server line, the resolved overrides per benchmark, seeds, data and prompt
checksums, package versions, the project's git commit) and keep ``<out>/manifest.json`` as the
merged view: per benchmark its latest settings, and per output file the run that wrote it.
``ns summarize_results`` adds row counts and warns when the seed files it combines come from runs
whose settings differ. Secrets never appear: commands are masked and keys travel by name.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from skills.config.secrets import redact

MANIFEST = "manifest.json"
RUNS = "manifests"
PACKAGES = ("skills", "hydra-core", "omegaconf", "math-verify", "sympy", "aiohttp", "nemo-run", "numpy")
COMPARED = ("data", "prompt", "overrides", "model", "generation_module", "eval_type")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def sha256(path: str) -> Optional[str]:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def count_rows(path: str) -> Optional[int]:
    try:
        with open(path, "rb") as fh:
            return sum(1 for line in fh if line.strip())
    except OSError:
        return None


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


def prompt_info(config: Optional[str]) -> Dict[str, Any]:
    if not config:
        return {}
    info: Dict[str, Any] = {"config": config}
    try:
        from skills.inference.prompts import resolve_prompt_path

        path = resolve_prompt_path(config)
        info.update(file=str(path), sha256=sha256(str(path)))
    except Exception:  # noqa: BLE001 - the run itself reports a bad prompt; the manifest just records
        pass
    return info


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Several jobs (Slurm metrics jobs) may update the merged manifest at once."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".{MANIFEST}.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read(path: Path) -> Dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(path: Path, data: Dict[str, Any]) -> None:
    from skills.data.io import atomic_open

    with atomic_open(path) as fh:
        json.dump(data, fh, indent=2)


def write_run(plan: Any, argv: Sequence[str], cluster: Any = None) -> Optional[Path]:
    """Record a starting run (``plan.manifest`` holds the planners' per-benchmark settings).
    Nothing is written for outputs on a remote cluster (reached over ssh)."""
    out = plan.output_dir
    if not out or (cluster is not None and cluster.is_slurm and cluster.ssh_tunnel is not None):
        return None
    root = Path(out)
    run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{plan.expname}-{os.getpid()}"
    server = next((j.server for j in plan.jobs if j.server is not None), None)
    benchmarks = {}
    for name, entry in (plan.manifest or {}).items():
        entry = dict(entry)
        data = entry.get("data") or {}
        if data.get("file"):
            entry["data"] = {**data, "sha256": sha256(data["file"]), "rows": count_rows(data["file"])}
        entry["prompt"] = prompt_info(entry.get("prompt_config"))
        benchmarks[name] = entry
    record = {
        "run": run_id, "started": _now(), "command": redact(" ".join(argv)), "expname": plan.expname,
        "cluster": plan.cluster, "executor": plan.executor, **git_state(),
        "packages": package_versions(*(_server_python(server) if server else (None, None))),
        "server": ({"type": server.server_type, "model": server.model, "args": redact(server.args),
                    "gpus": server.gpus, "nodes": server.nodes, "command": redact(server.command)}
                   if server else None),
        "benchmarks": benchmarks,
        "jobs": [{"name": j.name, "kind": j.kind, "programs": [[redact(a) for a in p] for p in j.programs],
                  "sidecars": [s.name for s in j.sidecars], "secret_env": list(j.secret_env)} for j in plan.jobs],
    }
    path = root / RUNS / f"{run_id}.json"
    _write(path, record)
    with _locked(root):
        merged = _read(root / MANIFEST)
        merged.setdefault("runs", []).append(run_id)
        merged.setdefault("benchmarks", {}).update(
            {name: {k: v for k, v in entry.items() if k != "outputs"} | {"run": run_id}
             for name, entry in benchmarks.items()})
        files = merged.setdefault("files", {})
        for entry in benchmarks.values():
            for output in entry.get("outputs", []):
                files[os.path.relpath(output, root)] = run_id
        _write(root / MANIFEST, merged)
    return path


def _server_python(server: Any) -> tuple:
    words = server.command.split()
    python = next((w for w in words if w.endswith("/python") or w.endswith("/python3")), None)
    return python, {"vllm": "vllm", "sglang": "sglang"}.get(server.server_type)


def finish_run(path: Optional[Path], exit_code: int) -> None:
    if path is None:
        return
    record = _read(path)
    if record:
        record.update(finished=_now(), exit_code=exit_code)
        _write(path, record)


def find_root(bench_dir: Path) -> Optional[Path]:
    """The output folder whose manifest covers a benchmark folder (up to three levels up)."""
    for folder in [bench_dir, *list(bench_dir.parents)[:3]]:
        if (folder / MANIFEST).is_file():
            return folder
    return None


def record_rows(bench_dir: Path, files: Sequence[Path]) -> None:
    root = find_root(bench_dir)
    if root is None:
        return
    with _locked(root):
        merged = _read(root / MANIFEST)
        rows = merged.setdefault("rows", {})
        for f in files:
            rows[os.path.relpath(f, root)] = count_rows(str(f))
        _write(root / MANIFEST, merged)


def mixed_settings(bench: str, bench_dir: Path, files: Sequence[Path]) -> List[str]:
    """Differences between the runs that wrote the given files of one benchmark (empty if one run)."""
    root = find_root(bench_dir)
    if root is None:
        return []
    merged = _read(root / MANIFEST)
    runs: Dict[str, List[str]] = {}
    for f in files:
        run = (merged.get("files") or {}).get(os.path.relpath(f, root))
        if run:
            runs.setdefault(run, []).append(f.name)
    if len(runs) < 2:
        return []
    settings = {run: (_read(root / RUNS / f"{run}.json").get("benchmarks") or {}).get(bench) or {} for run in runs}
    first, *others = list(runs)
    out = []
    for other in others:
        for key in COMPARED:
            a, b = settings[first].get(key), settings[other].get(key)
            if a != b and a is not None and b is not None:
                out.append(f"{key} differs between run {first} ({', '.join(runs[first])}) and run {other} "
                           f"({', '.join(runs[other])})")
    return out

