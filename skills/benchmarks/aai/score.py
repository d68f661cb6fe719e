"""The AAI group score: the Artificial Analysis Intelligence Index from the members' metrics.

As the reference's ``aai_score``: the plain mean of eight numbers (percent), plus ``math_score``
(aime25) and ``code_score`` (mean of scicode and livecodebench), in the reference's keys and order:

| key | member | mode | metric |
| --- | --- | --- | --- |
| mmlu_pro | mmlu-pro | pass@1 | symbolic_correct |
| hle | hle | pass@1 | judge_correct |
| gpqa | gpqa | pass@1 | symbolic_correct |
| aime25 | aime25 | pass@1[avg-of-10] | symbolic_correct |
| scicode | scicode | pass@1[avg-of-3] | subtask_accuracy |
| livecodebench | livecodebench | pass@1[avg-of-3] | accuracy |
| ifbench | ifbench | pass@1[avg-of-5] | average_score |
| aalcr | aalcr | pass@1[avg-of-3] | judge_correct |

Two quirks of the reference, decided here:

- It reads aime25's number from ``metrics["aime24"]``: the member was renamed from aime24 to aime25
  (NeMo-Skills #646) and that key was left behind. The group never runs aime24, so the reference's
  score job stops with a KeyError and no published index can come from it: read aime25 (bug fixed).
- aalcr runs 4 seeds but the index reads ``pass@1[avg-of-3]`` (the first three seed files). AA's
  methodology averages 3 repeats of AA-LCR, and avg-of-3 is a well-defined number, so it is kept by
  default; ``aai-all-seeds`` (``--score_module aai-all-seeds`` of ``python -m skills.metrics.group_score``)
  reads aalcr's average over all its seeds instead.

A member or mode that is missing (members run with other seed counts, a failed member) is one error
line naming it, never a partial index.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple

from skills.config.errors import UsageError
from skills.metrics.base import Metrics
from skills.metrics.groups import GroupScore

# key -> (member, mode, metric)
COMPONENTS: Dict[str, Tuple[str, str, str]] = {
    "mmlu_pro": ("mmlu-pro", "pass@1", "symbolic_correct"),
    "hle": ("hle", "pass@1", "judge_correct"),
    "gpqa": ("gpqa", "pass@1", "symbolic_correct"),
    "aime25": ("aime25", "pass@1[avg-of-10]", "symbolic_correct"),
    "scicode": ("scicode", "pass@1[avg-of-3]", "subtask_accuracy"),
    "livecodebench": ("livecodebench", "pass@1[avg-of-3]", "accuracy"),
    "ifbench": ("ifbench", "pass@1[avg-of-5]", "average_score"),
    "aalcr": ("aalcr", "pass@1[avg-of-3]", "judge_correct"),
}
_AVG = re.compile(r"pass@1\[avg-of-(\d+)\]")


class AAIScore(GroupScore):
    def __init__(self, aalcr_all_seeds: bool = False) -> None:
        self.aalcr_all_seeds = aalcr_all_seeds

    def _mode(self, key: str, member: str, mode: str, metrics: Metrics) -> str:
        if key == "aalcr" and self.aalcr_all_seeds:
            ks = [int(m.group(1)) for m in map(_AVG.fullmatch, metrics) if m]
            return f"pass@1[avg-of-{max(ks)}]" if ks else "pass@1"
        return mode

    def value(self, members: Dict[str, Metrics], key: str) -> float:
        member, mode, metric = COMPONENTS[key]
        if member not in members:
            raise UsageError(f"aai: no metrics of {member} (did its run or metrics job fail?)")
        mode = self._mode(key, member, mode, members[member])
        found = members[member].get(mode, {})
        if metric not in found:
            have = ", ".join(m for m in members[member] if isinstance(members[member][m], dict)) or "none"
            raise UsageError(f"aai: the index reads {member} {mode} {metric}, which its metrics lack (modes: {have}); "
                             "run the group with its own seed counts (no :N on aai)")
        return found[metric]

    def compute(self, group: str, members: Dict[str, Metrics]) -> Dict[str, Any]:
        v = {key: self.value(members, key) for key in COMPONENTS}
        return {
            "overall_score": sum(v.values()) / len(v),
            "math_score": v["aime25"],
            "code_score": (v["scicode"] + v["livecodebench"]) / 2,
            **v,
        }

    def table(self, group: str, entry: Dict[str, Any]) -> List[str]:
        rows = [[key, f"{value:.2f}%"] for key, value in entry.items() if isinstance(value, (int, float))]
        headers = ["score", "value"]
        widths = [max(len(r[i]) for r in [headers] + rows) for i in range(2)]
        total = sum(widths) + 3
        lines = [f" {group} ".center(total, "-")]
        lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [headers] + rows]
        return lines


SCORE = AAIScore()
ALL_SEEDS = AAIScore(aalcr_all_seeds=True)
