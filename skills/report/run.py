"""What a report says about the run behind its results, from the run manifest.

``ns eval`` / ``ns generate`` record every run (``skills.pipeline.manifest``): the command, the
server, per benchmark the data file, prompt file, ``++`` overrides and seeds, the versions and the
project's commit. The report shows them next to the numbers, and turns each benchmark's overrides
back into its generation config (``bench_config``): the effective sampling settings (defaults
included, not just what was typed) and the prompt builder that rebuilds the exact messages of
each problem (``skills.report.messages``). Results without a manifest (NeMo-Skills' own, or
copied) simply have no run section.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from skills.config.errors import UsageError

MANIFEST_NAME = "manifest.json"
RUNS_DIR = "manifests"
SAMPLING = ("temperature", "top_p", "top_k", "min_p", "tokens_to_generate", "repetition_penalty", "reasoning_effort",
            "endpoint_type")
PROMPT_KEYS = ("prompt_config", "system_message", "examples_type", "few_shot_examples", "prompt_format", "prompt_suffix")


def find_manifest(results_dir: Path) -> Optional[Path]:
    """``<out>/manifest.json`` of a results folder given as ``<out>``, ``<out>/eval-results`` or a
    benchmark folder inside it."""
    results_dir = Path(results_dir)
    for folder in [results_dir, *list(results_dir.parents)[:3]]:
        for path in (folder / MANIFEST_NAME, folder / "eval-results" / MANIFEST_NAME):
            if path.is_file():
                return path
    return None


def read_json(path: Path) -> Dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable manifest ({exc})") from None
    return data if isinstance(data, dict) else {}


def prompt_set_dir(prompt: Dict[str, Any]) -> Optional[str]:
    """The prompt set a run resolved its prompt in: the folder above ``config/`` of the recorded
    file for a fetched set, ``none`` for our own prompts, None for an explicit file."""
    source, file = str(prompt.get("source") or ""), str(prompt.get("file") or "")
    if source == "skills-builtin":
        return "none"
    if "@" in source and "/config/" in file:
        return file[: file.rindex("/config/")]
    return None


def bench_config(entry: Dict[str, Any]) -> Any:
    """The generation config a benchmark's runs used (its module's schema, the recorded overrides),
    or None when it cannot be rebuilt here (an unknown module, overrides of another version)."""
    from skills.inference.settings import load_config
    from skills.inference.task import task_of

    try:
        schema = task_of(entry.get("generation_module") or "skills.inference.generate").config_class
        overrides = [o for o in entry.get("overrides") or [] if isinstance(o, str)]
        where = prompt_set_dir(entry.get("prompt") or {})
        given = {o.lstrip("+~").split("=", 1)[0] for o in overrides}
        if where is not None and "prompt_set_dir" not in given:
            overrides.append(f"++prompt_set_dir={where}")
        if where == "none" and "prompt_source" not in given and hasattr(schema(), "prompt_source"):
            overrides.append("++prompt_source=own")  # the run used our wording (whatever allowed it then)
        return load_config(overrides, schema, check=False)
    except (UsageError, ImportError, ValueError, TypeError):
        return None


def settings_of(cfg: Any) -> Dict[str, Any]:
    """Sampling and prompt settings of a config, as shown in the report."""
    if cfg is None:
        return {}
    out = {k: getattr(cfg.inference, k) for k in SAMPLING if hasattr(cfg.inference, k)}
    out.update({k: getattr(cfg, k) for k in PROMPT_KEYS if hasattr(cfg, k)})
    return out


def _server(record: Dict[str, Any]) -> Dict[str, Any]:
    """The server a run started, else the address its generation programs were pointed at."""
    if record.get("server"):
        return dict(record["server"])
    for job in record.get("jobs") or []:
        for argv in job.get("programs") or []:
            for arg in argv:
                if isinstance(arg, str) and arg.startswith("++server.base_url="):
                    kind = next((a.split("=", 1)[1] for a in argv if isinstance(a, str)
                                 and a.startswith("++server.server_type=")), None)
                    return {"type": kind, "address": arg.split("=", 1)[1].strip("'\""), "started_by_ns": False}
    return {}


def manifest_entries(results_dir: Path) -> Dict[str, Dict[str, Any]]:
    """Per benchmark, the manifest's latest settings ({} without a manifest)."""
    path = find_manifest(results_dir)
    entries = (read_json(path).get("benchmarks") or {}) if path is not None else {}
    return {k: v for k, v in entries.items() if isinstance(v, dict)}


def run_summary(results_dir: Path, benchmarks: Sequence[str],
                configs: Optional[Dict[str, Any]] = None) -> Optional[Dict[str, Any]]:
    """The run section of the report: per benchmark its settings and the run that wrote it, and
    per run its command, server, versions and times. None without a manifest. ``configs``
    receives each benchmark's generation config (for ``skills.report.messages``)."""
    path = find_manifest(results_dir)
    if path is None:
        return None
    merged = read_json(path)
    entries = merged.get("benchmarks") or {}
    out: Dict[str, Any] = {"manifest": str(path), "benchmarks": {}, "runs": []}
    wanted: List[str] = []
    for name in benchmarks:
        entry = entries.get(name)
        if not isinstance(entry, dict):
            continue
        cfg = bench_config(entry)
        if configs is not None:
            configs[name] = cfg
        prompt = entry.get("prompt") or {}
        out["benchmarks"][name] = {
            "run": entry.get("run"), "model": entry.get("model"), "split": entry.get("split"),
            "data": entry.get("data"), "seeds": entry.get("seeds"), "prompt": prompt,
            "generation_module": entry.get("generation_module"), "eval_type": entry.get("eval_type"),
            "overrides": entry.get("overrides"), "settings": settings_of(cfg),
        }
        if entry.get("run") and entry["run"] not in wanted:
            wanted.append(entry["run"])
    for run_id in wanted:
        record_path = path.parent / RUNS_DIR / f"{run_id}.json"
        record = read_json(record_path) if record_path.is_file() else {}
        out["runs"].append({
            "run": run_id, "command": record.get("command"), "started": record.get("started"),
            "finished": record.get("finished"), "exit_code": record.get("exit_code"),
            "cluster": record.get("cluster"), "executor": record.get("executor"),
            "git_commit": record.get("git_commit"), "git_dirty": record.get("git_dirty"),
            "packages": record.get("packages") or {}, "server": _server(record),
        })
    return out if out["benchmarks"] else None
