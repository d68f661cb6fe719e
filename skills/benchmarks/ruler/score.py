"""RULER's group score: the plain mean of the 13 task accuracies, for every mode of niah_single_1.

The entry is ``{mode: {"accuracy": mean}}`` under ``ruler.<setup>``; the group's metrics file keeps
every task entry, then the setup entry (eval-metrics.md 10). All 13 tasks are required: a mean
over fewer would read as a RULER score and compare wrongly with published ones.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from skills.benchmarks.ruler import TASKS
from skills.config.errors import UsageError
from skills.metrics.base import Metrics
from skills.metrics.groups import GroupScore

_PASS_K = re.compile(r"pass@(\d+)")


class RulerGroupScore(GroupScore):
    def compute(self, group: str, members: Dict[str, Metrics]) -> Dict[str, Any]:
        names = [f"{group}.{t}" for t in TASKS]
        missing = [t for t, n in zip(TASKS, names) if n not in members]
        if missing:
            raise UsageError(f"{group}: the RULER score is the mean of all {len(TASKS)} tasks; "
                             f"missing {', '.join(missing)}")
        entry: Dict[str, Any] = {}
        for mode in members[names[0]]:
            lacking = [t for t, n in zip(TASKS, names) if "accuracy" not in members[n].get(mode, {})]
            if lacking:
                raise UsageError(f"{group}: no {mode} accuracy for {', '.join(lacking)} "
                                 "(were all tasks run with the same number of seeds?)")
            entry[mode] = {"accuracy": sum(members[n][mode]["accuracy"] for n in names) / len(TASKS)}
        return entry

    def metrics_file(self, group: str, members: Dict[str, Metrics], entry: Dict[str, Any]) -> Dict[str, Any]:
        return {**members, group: entry}

    def render(self, group: str, members: Dict[str, Metrics], entry: Dict[str, Any]) -> List[str]:
        """One row per task and the mean; one accuracy column per printed mode (greedy: pass@1)."""
        k = max((int(m.group(1)) for m in map(_PASS_K.fullmatch, entry) if m), default=1)
        modes = [m for m in (f"pass@1[avg-of-{k}]", f"pass@{k}") if m in entry]
        headers = ["task"] + (["accuracy"] if len(modes) == 1 else modes)
        rows = [[t] + [f"{members[f'{group}.{t}'][m]['accuracy']:.2f}%" for m in modes] for t in TASKS]
        rows.append(["average"] + [f"{entry[m]['accuracy']:.2f}%" for m in modes])
        widths = [max(len(r[i]) for r in [headers] + rows) for i in range(len(headers))]
        total = sum(widths) + 3 * (len(widths) - 1)
        lines = [f" {group} ".center(total, "-")]
        lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [headers] + rows]
        return lines


SCORE = RulerGroupScore()
