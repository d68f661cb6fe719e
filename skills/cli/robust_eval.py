"""``ns robust_eval``: ``ns eval`` once per prompt variant of each benchmark, then ``summarize_robustness``.

It takes every ``ns eval`` option and ``++`` override, plus ``--prompt_set_config`` (the reference's
spelling and behaviour; the planner is ``skills.pipeline.robust_eval_plan``, which plans each
variant with the ``ns eval`` planner).
"""

from __future__ import annotations

import inspect
import typing

from skills.cli.eval import GROUPS, eval_params, run_eval
from skills.cli.options import O, with_groups


def _robust_eval(**values) -> int:
    prompt_set_config = values.pop("prompt_set_config")
    if not prompt_set_config:
        from skills.config.errors import UsageError

        raise UsageError("missing option --prompt_set_config")
    return run_eval(values, prompt_set_config)


def _signature() -> inspect.Signature:
    """``ns eval``'s options (types resolved), ``--expname`` defaulting to robust_eval, and
    ``--prompt_set_config`` after the context."""
    sig = inspect.signature(eval_params)
    hints = typing.get_type_hints(eval_params)
    params = []
    for name, p in sig.parameters.items():
        p = p.replace(annotation=hints.get(name, p.annotation))
        if name == "expname":
            p = p.replace(default=O("expname", "Experiment name (each variant's evals: <expname>_<prompt>).",
                                    default="robust_eval"))
        params.append(p)
        if name == "ctx":
            params.append(inspect.Parameter(
                "prompt_set_config", inspect.Parameter.KEYWORD_ONLY, annotation=typing.Optional[str],
                default=O("prompt_set_config", "YAML of benchmark -> prompt variants (prompt_config, optional "
                          "extract_regex): a file, or a config of the reference prompt set such as "
                          "robustness/prompt_set_config (required).")))
    return sig.replace(parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params])


_robust_eval.__signature__ = _signature()  # type: ignore[attr-defined]
_robust_eval.__doc__ = ("Evaluate a model on benchmarks once per prompt variant (--prompt_set_config), "
                        "then summarize robustness.")
robust_eval_cmd = with_groups(**GROUPS)(_robust_eval)
