"""Helpers of the command modules: extra-argument parsing, required options, plan printing/running."""

from __future__ import annotations

import difflib
from typing import List, Optional, Tuple

import click

from skills.config.errors import UsageError

EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def option_names(ctx: click.Context) -> List[str]:
    return [o for p in ctx.command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")]


EXAMPLES = {
    "eval": ("ns eval --cluster=local --server_type=vllm --model=/models/m \\\n"
             "      --output_dir=/results/m --benchmarks=NAME:8,OTHER:8 \\\n"
             "      ++inference.temperature=0.6 ++inference.tokens_to_generate=32768"),
    "generate": ("ns generate --cluster=local --server_type=vllm --model=/models/m \\\n"
                 "      --input_file=in.jsonl --output_dir=/results/gen \\\n"
                 "      ++prompt_config=generic/default ++inference.temperature=0.6"),
}


def overrides_help(command: str) -> str:
    """The end of ``ns eval --help`` / ``ns generate --help``: how generation settings are passed
    (click keeps the lines of a paragraph that starts with \\b as they are)."""
    return f"""Generation settings are not --options: pass them as ++key=value overrides
after the options (dots reach nested keys; every key, with its default:
`python -m skills.inference.generate --help`). Every key is checked before
anything starts; a typo fails with a suggestion.

\b
  ++inference.temperature=0.6        sampling temperature
  ++inference.top_p=0.95             nucleus sampling
  ++inference.tokens_to_generate=32768
  ++system_message='/think'          replaces the prompt's system message
  ++prompt_config=generic/math       prompt file (name or path)
  ++max_samples=10                   only the first 10 problems
  ++max_concurrent_requests=64       requests in flight per run

\b
Example:
  {EXAMPLES[command]}"""


def override_for(name: str) -> List[str]:
    """``++`` keys of the generation settings whose last part is ``name`` (``temperature`` ->
    ``inference.temperature``): an option the user meant as a setting."""
    import dataclasses

    from skills.inference.config import GenerateConfig

    key = name.lstrip("-").replace("-", "_")
    found: List[str] = []

    def walk(cls: type, prefix: str) -> None:
        for f in dataclasses.fields(cls):
            value = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default  # type: ignore[misc]
            if dataclasses.is_dataclass(value):
                walk(type(value), prefix + f.name + ".")
            elif f.name == key:
                found.append(prefix + f.name)

    walk(GenerateConfig, "")
    return found


def unknown_option_error(ctx: click.Context, token: str, value: Optional[str] = None) -> UsageError:
    name = token.split("=", 1)[0]
    if "=" in token:
        value = token.split("=", 1)[1]
    names = option_names(ctx)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6) or difflib.get_close_matches(
        name.replace("-", "_"), names, n=1, cutoff=0.6)
    keys = override_for(name) if ctx.command.name in ("eval", "generate") else []
    if keys:  # a generation setting written as an option
        shown = " or ".join(f"++{k}={value if value is not None else '...'}" for k in keys)
        hint = f"; generation settings are ++key=value overrides: did you mean {shown}?"
    else:
        hint = f"; did you mean {close[0]}?" if close else ""
    return UsageError(f"no such option: {name} (ns {ctx.command.name}){hint}")


def split_extra(ctx: click.Context, positional: bool = False) -> Tuple[List[str], List[str]]:
    """ctx.args -> (overrides, positional args). Unknown ``--options`` are errors."""
    from skills.config.overrides import is_override

    overrides, rest = [], []
    for i, tok in enumerate(ctx.args):
        if tok.startswith("-") and not tok.startswith("--") and tok[1:].lstrip("-").replace(".", "").isdigit():
            rest.append(tok)
        elif tok.startswith("-"):
            following = ctx.args[i + 1] if i + 1 < len(ctx.args) else None
            value = following if following is not None and not following.startswith(("-", "+", "~")) else None
            raise unknown_option_error(ctx, tok, value)
        elif is_override(tok):
            overrides.append(tok)
        elif positional:
            rest.append(tok)
        else:
            raise UsageError(f"unexpected argument '{tok}' (overrides are written ++key=value)")
    return overrides, rest


def print_error(message: str) -> None:
    """``Error: message`` on stderr, red at a terminal."""
    import sys

    red, reset = ("\x1b[31m", "\x1b[0m") if sys.stderr.isatty() else ("", "")
    sys.stderr.write(f"{red}Error: {message}{reset}\n")
    sys.stderr.flush()


def not_applicable(flag: str, why: str) -> None:
    """A reference option accepted here without an effect: one line saying why."""
    import sys

    print(f"note: {flag} does not apply here: {why}", file=sys.stderr)


def require(**values) -> None:
    for flag, value in values.items():
        if value is None or value == "":
            raise UsageError(f"missing option --{flag}")


def emit_plan(plan, dry_run, cluster) -> int:
    """Print the plan (dry run) or run it with the cluster's executor."""
    from skills.pipeline.dryrun import render

    if dry_run.format not in ("text", "json"):
        raise UsageError(f"--dry_run_format must be text or json, got '{dry_run.format}'")
    if dry_run.enabled:
        import sys

        estimate = None
        if any(j.kind in ("generation", "judge") for j in plan.jobs):
            from skills.pipeline.estimate import estimate_plan

            estimate = estimate_plan(plan, getattr(dry_run, "price_table", None), getattr(dry_run, "estimate_from", None))
        sys.stdout.write(render(plan, dry_run.format, estimate))
        return 0
    from skills.pipeline.executors import run_plan
    from skills.pipeline.preflight import check_env, check_model_paths

    check_env(plan)
    check_model_paths(plan.jobs, cluster)
    if not plan.jobs:
        for note in plan.notes:
            print(note)
        return 0
    import sys

    for note in plan.notes:  # e.g. "gpqa: prompt ...: using skills' own wording" before hours of work
        print(f"note: {note}", file=sys.stderr)
    from skills.pipeline.manifest import finish_run, write_run

    records = []  # the manifest is written once the run has started (not for a refused one)
    rc = run_plan(plan, cluster, on_start=lambda: records.append(write_run(plan, ["ns", *sys.argv[1:]], cluster)))
    if cluster.executor != "slurm" and records:
        finish_run(records[0], rc)
    return rc
