"""Benchmark groups in the metrics: declared group scores, and the reference's dot-name fallback.

Declared groups (``bfcl_v3``, ``ruler.<setup>``) name a ``GroupScore`` (``BenchmarkSpec.score_module``):
a registry name, a ``module:attribute`` path, or a reference-style module with ``compute_score``.

Fallback for other dot-named folders (eval-metrics.md 2.8): ``x.a`` + ``x.b`` -> an averaged ``x``,
only when summarize sees >= 2 members at once; the entry goes first, each numeric metric is the plain
mean over members (ints stay ints) and ``num_entries`` becomes ``num_benchmarks_in_group``.
Deviation: the reference raises on dict-valued metrics (``*_statistics``); we leave them out of the
group entry instead, so sampled (n >= 2) groups can be summarized too.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from skills.config.errors import UsageError
from skills.metrics.base import Metrics
from skills.metrics.provenance import WORDING_KEY
from skills.registry import Registry


def _group_entry(prefix: str, members: List[str], results: Dict[str, Metrics]) -> Metrics:
    first = results[members[0]]
    out: Metrics = {}
    for mode, metrics in first.items():
        entry: Dict[str, Any] = {}
        for name in members:
            if _measured(results[name].get(mode, {})) != _measured(metrics):
                raise UsageError(f"Cannot group {prefix}: {name} and {members[0]} have different metrics in {mode}")
        for key, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            avg = sum(results[name][mode][key] for name in members) / len(members)
            if key == "num_entries":
                entry["num_benchmarks_in_group"] = len(members)
            else:
                entry[key] = int(avg) if isinstance(value, int) else avg
        wording = sorted({results[n][mode][WORDING_KEY] for n in members if WORDING_KEY in results[n].get(mode, {})})
        if wording:  # one member on skills' own prompt words marks the group
            entry[WORDING_KEY] = "; ".join(wording)
        out[mode] = entry
    return out


def _measured(metrics: Dict[str, Any]) -> set:
    """The metric names of a mode, without provenance marks (strings naming prompts or code)."""
    return {k for k, v in metrics.items() if not isinstance(v, (str, list))}


def add_benchmark_groups(results: Dict[str, Metrics], scorers: Dict[str, Tuple[Any, int]],
                         skip: Any = (), benchmarks: Any = None) -> Dict[str, Metrics]:
    """Results with group entries inserted first; ``scorers`` gets the first member's scorer.
    Only ``benchmarks`` (folder names; default: every entry) are grouped, never subset tables
    (``x.a-easy`` is not a member of ``x``); groups in ``skip`` (declared groups, scored by their
    own module) are left alone."""
    by_prefix: Dict[str, List[str]] = {}
    for name in results:
        if benchmarks is not None and name not in benchmarks:
            continue
        if "." in name and name.rsplit(".", 1)[0] not in skip:
            by_prefix.setdefault(name.rsplit(".", 1)[0], []).append(name)
    groups = {p: m for p, m in by_prefix.items() if len(m) >= 2 and p not in results}
    if not groups:
        return results
    out: Dict[str, Metrics] = {}
    for prefix, members in groups.items():
        out[prefix] = _group_entry(prefix, members, results)
        scorers[prefix] = scorers[members[0]]
    out.update(results)
    return out


# ----------------------------------------------------------------------------- declared group scores
class GroupScore:
    """How a benchmark group's member metrics combine (BFCL's weighted categories, RULER's mean).

    Subclass it (or give a module with a reference-style ``compute_score(metrics)``) and name it in
    the group's ``BenchmarkSpec.score_module``. ``members`` maps member names to their metrics
    (``{mode: {metric: value}}``)."""

    def compute(self, group: str, members: Dict[str, Metrics]) -> Dict[str, Any]:
        """The group's own entry."""
        raise NotImplementedError

    def metrics_file(self, group: str, members: Dict[str, Metrics], entry: Dict[str, Any]) -> Dict[str, Any]:
        """What ``eval-results/<group>/metrics.json`` holds (default: the entry alone)."""
        return entry

    def table(self, group: str, entry: Dict[str, Any]) -> List[str]:
        """Printed lines (default: the entry as a table of modes, like a benchmark's)."""
        from skills.metrics.table import render_table

        modes = [m for m, v in entry.items() if isinstance(v, dict)]
        return render_table(group, entry, modes, None)

    def render(self, group: str, members: Dict[str, Metrics], entry: Dict[str, Any]) -> List[str]:
        """What summarize and the group job print (default: ``table``); override it to show the
        members' numbers beside the group's (RULER's task list)."""
        return self.table(group, entry)


class ModuleGroupScore(GroupScore):
    """A reference-style score module: ``compute_score(merged member metrics) -> group metrics``."""

    def __init__(self, compute_score):
        self.compute_score = compute_score

    def compute(self, group: str, members: Dict[str, Metrics]) -> Dict[str, Any]:
        return self.compute_score(dict(members))


def get_group_score(name: str) -> GroupScore:
    """A registered name, a ``module:attribute`` path, or a module with ``compute_score``."""
    import importlib

    obj = GROUP_SCORES.find(name) if ":" in name or name in GROUP_SCORES.names() else None
    if obj is None:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise UsageError(f"unknown group score '{name}' (not registered, not importable: {exc})") from None
        obj = getattr(module, "SCORE", None) or getattr(module, "compute_score", None)
        if obj is None:
            raise UsageError(f"group score module {name} has neither SCORE nor compute_score")
    if isinstance(obj, type) and issubclass(obj, GroupScore):
        obj = obj()
    if isinstance(obj, GroupScore):
        return obj
    if callable(obj):
        return ModuleGroupScore(obj)
    raise UsageError(f"group score '{name}' is neither a GroupScore nor a function")


GROUP_SCORES: Registry[Any] = Registry("group_score", "group score")
