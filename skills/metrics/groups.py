"""Dot-name groups (eval-metrics.md 2.8): ``ruler.x.a`` + ``ruler.x.b`` -> an averaged ``ruler.x``.

Only when summarize sees >= 2 members at once; the entry goes first, each numeric metric is the plain
mean over members (ints stay ints) and ``num_entries`` becomes ``num_benchmarks_in_group``.
Deviation: the reference raises on dict-valued metrics (``*_statistics``); we leave them out of the
group entry instead, so sampled (n >= 2) groups can be summarized too.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from skills.config.errors import UsageError
from skills.metrics.base import Metrics


def _group_entry(prefix: str, members: List[str], results: Dict[str, Metrics]) -> Metrics:
    first = results[members[0]]
    out: Metrics = {}
    for mode, metrics in first.items():
        entry: Dict[str, Any] = {}
        for name in members:
            if set(results[name].get(mode, {})) != set(metrics):
                raise UsageError(f"Cannot group {prefix}: {name} and {members[0]} have different metrics in {mode}")
        for key, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            avg = sum(results[name][mode][key] for name in members) / len(members)
            if key == "num_entries":
                entry["num_benchmarks_in_group"] = len(members)
            else:
                entry[key] = int(avg) if isinstance(value, int) else avg
        out[mode] = entry
    return out


def add_benchmark_groups(results: Dict[str, Metrics], scorers: Dict[str, Tuple[Any, int]]) -> Dict[str, Metrics]:
    """Results with group entries inserted first; ``scorers`` gets the first member's scorer."""
    by_prefix: Dict[str, List[str]] = {}
    for name in results:
        if "." in name:
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
