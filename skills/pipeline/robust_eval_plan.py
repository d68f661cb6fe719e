"""``ns robust_eval`` -> Plan: one ``ns eval`` plan per (benchmark, prompt variant), then the
``summarize_robustness`` job (the reference's ``nemo_skills.pipeline.robust_eval``).

A prompt set config (YAML) maps each benchmark name to a list of prompt variants, each with
``prompt_config`` (a prompt name of the reference's prompt set, or a file) and an optional
``extract_regex``. The reference ships one (``robustness/prompt_set_config``: ten multiple-choice
variants for gpqa, ten math variants for comp-math-24-25); a name is looked up in the fetched
prompt set, a path read as is. Every variant is planned by the ``ns eval`` planner
(``skills.pipeline.eval_plan``) with the command's options and ``++`` overrides plus
``++prompt_config=<variant>`` (and ``++eval_config.extract_regex=<regex>`` when given), its output
in ``<output_dir>/<benchmark>/<prompt name>`` and its experiment name ``<expname>_<prompt name>``.
The jobs of all those plans form one plan, followed by ``python -m skills.metrics.robustness
<output_dir>`` once they are all done (log in ``<output_dir>/summarize_robustness``).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from skills.config.errors import UsageError
from skills.config.overrides import hydra_quote
from skills.data import resolve_data_dir
from skills.pipeline.eval_plan import EvalOptions, build_eval_plan
from skills.pipeline.jobs import apply_slurm, check_expname
from skills.pipeline.plan import Job, Plan
from skills.pipeline.programs import shell_join
from skills.pipeline.prompts import prompt_set_for_plan
from skills.pipeline.selection import parse_benchmarks
from skills.prompt_sets import open_set

SUMMARY_DIR = "summarize_robustness"


@dataclass(frozen=True)
class PromptVariant:
    prompt_config: str
    extract_regex: Optional[str] = None

    @property
    def name(self) -> str:
        """The variant's folder and experiment suffix: the prompt config's last path part."""
        return Path(self.prompt_config).stem


def _config_file(value: str, data_dir: str, cluster) -> Path:
    path = Path(value).expanduser()
    if path.is_file():
        return path
    if value.endswith((".yaml", ".yml")) or path.is_absolute():
        raise UsageError(f"--prompt_set_config: no such file: {value}")
    _, look = prompt_set_for_plan(data_dir, cluster)
    pset = open_set(look) if look and os.path.isdir(look) else None
    found = pset.config(value) if pset is not None else None
    if found is None:
        where = f"the reference prompt set at {look}" if pset is not None else \
            "the reference prompt set (not fetched: `ns prepare_data <benchmark>` fetches it)"
        raise UsageError(f"--prompt_set_config '{value}' is neither a file on this machine nor a config of {where}")
    return found


def load_prompt_set_config(value: str, data_dir: str, cluster) -> Dict[str, List[PromptVariant]]:
    """benchmark -> its prompt variants, from a YAML file or a config name of the fetched prompt set."""
    import yaml

    path = _config_file(value, data_dir, cluster)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not data:
        raise UsageError(f"{path}: expected a mapping of benchmark names to lists of prompt variants")
    out: Dict[str, List[PromptVariant]] = {}
    for bench, items in data.items():
        if not isinstance(items, list) or not items:
            raise UsageError(f"{path}: '{bench}' must be a non-empty list of prompt variants")
        variants = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("prompt_config"), str):
                raise UsageError(f"{path}: each variant of '{bench}' needs prompt_config (got {item!r})")
            unknown = set(item) - {"prompt_config", "extract_regex"}
            if unknown:
                raise UsageError(f"{path}: variant {item['prompt_config']} of '{bench}' has unknown keys "
                                 f"{', '.join(sorted(unknown))} (prompt_config, extract_regex)")
            variants.append(PromptVariant(item["prompt_config"], item.get("extract_regex")))
        names = [v.name for v in variants]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            raise UsageError(f"{path}: two variants of '{bench}' are both named {dup} (their output folder)")
        out[str(bench)] = variants
    return out


def variant_overrides(variant: PromptVariant) -> List[str]:
    """What a variant adds to the command line's ``++`` overrides."""
    extra = [f"++eval_config.extract_regex={hydra_quote(variant.extract_regex)}"] if variant.extract_regex else []
    return [*extra, f"++prompt_config={variant.prompt_config}"]


def build_robust_eval_plan(o: EvalOptions, prompt_set_config: str) -> Plan:
    """Validate everything and return the plan (nothing is written or started)."""
    entries = o.benchmarks.split(",") if o.benchmarks else []
    names = [name for name, _ in parse_benchmarks(o.benchmarks)]
    check_expname(o.expname)
    for tok in o.overrides:
        if tok.lstrip("+~").split("=", 1)[0].strip() == "prompt_config":
            raise UsageError("robust_eval takes its prompts from --prompt_set_config: leave out ++prompt_config")
    variants = load_prompt_set_config(prompt_set_config, resolve_data_dir(o.data_dir), o.cluster)
    missing = [n for n in names if n not in variants]
    if missing:
        raise UsageError(f"--prompt_set_config has no prompts for {', '.join(missing)} (it has "
                         f"{', '.join(variants)})")
    out = o.output_dir if o.cluster.is_slurm else os.path.abspath(o.output_dir)
    plan = Plan(expname=o.expname, cluster=o.cluster.name, executor=o.cluster.executor, output_dir=out,
                log_dir=o.log_dir or os.path.join(out, SUMMARY_DIR), run_after=list(o.slurm.run_after))
    required = set(plan.required_env)
    for entry, name in zip(entries, names):
        for variant in variants[name]:
            sub = copy.deepcopy(o)
            sub.output_dir = os.path.join(out, name, variant.name)
            sub.benchmarks = entry
            sub.expname = f"{o.expname}_{variant.name}"
            sub.overrides = [*o.overrides, *variant_overrides(variant)]
            try:
                part = build_eval_plan(sub)
            except UsageError as exc:
                raise UsageError(f"{name} with prompt {variant.prompt_config}: {exc.message}") from None
            taken = {j.name for j in plan.jobs}
            clash = next((j.name for j in part.jobs if j.name in taken), None)
            if clash:
                raise UsageError(f"two prompt variants plan the job {clash}: give the variants distinct names")
            plan.jobs.extend(part.jobs)
            plan.notes += [f"{name}/{variant.name}: {note}" for note in part.notes]
            plan.manifest.update({f"{name}/{variant.name}/{bench}": entry_ for bench, entry_ in part.manifest.items()})
            required.update(part.required_env)
    argv = ["python", "-m", "skills.metrics.robustness", out]
    summary = Job(name=f"{o.expname}-summarize-robustness", kind="metrics", commands=[shell_join(argv)],
                  programs=[argv], dependencies=[j.name for j in plan.jobs], benchmarks=names,
                  log_dir=os.path.join(out, SUMMARY_DIR), done_markers=[os.path.join(out, "metrics.json")])
    plan.jobs.append(apply_slurm(summary, o.cluster, o.slurm))
    plan.required_env = sorted(required)
    return plan
