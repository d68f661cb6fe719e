"""The BFCL v3 group score: the leaderboard's overall accuracy from the 17 split metrics.

Rules (eval-metrics.md 9; keys and values as the reference writes them):

- each split contributes its ``pass@1[avg-of-K]`` mode with the largest K, else ``pass@1``; K must
  be the same for every split (a missing seed in one split would silently mix estimates);
- a combination of entries is ``{accuracy, num_entries}``: unweighted = plain mean of the
  accuracies, weighted = mean weighted by ``num_entries``; ``num_entries`` is always the sum;
- simple/java/javascript are first averaged into one "simple" entry; non-live and multi-turn are
  unweighted, live is weighted, overall is the unweighted mean of non-live, live and multi-turn;
- ``irrelevance``, ``live_irrelevance`` and ``live_relevance`` are the splits' whole mode dicts;
- ``bfcl_checker`` (ours): which gorilla code graded the splits.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple

from skills.benchmarks.bfcl_v3 import NAME, SPLITS
from skills.config.errors import UsageError
from skills.metrics.groups import GroupScore

SIMPLE = ("simple", "java", "javascript")
OTHER_AST = ("parallel", "multiple", "parallel_multiple")
LIVE_AST = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
MULTI_TURN = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context")
AVG = re.compile(r"^pass@1\[avg-of-(\d+)\]$")
# (section, key) rows of the printed table, in the order of metrics.json
ROWS = (("overall_accuracy", None), ("non_live_single_turn", "overall_non_live"),
        ("non_live_single_turn", "non_live_ast"), ("non_live_single_turn", "irrelevance"),
        ("live_single_turn", "overall_live"), ("live_single_turn", "live_ast"),
        ("live_single_turn", "live_irrelevance"), ("live_single_turn", "live_relevance"),
        ("multi_turn", "overall_multi_turn"))


def selected_mode(metrics: Dict[str, Any]) -> Tuple[int, str]:
    """(K, mode) of one split: the largest ``pass@1[avg-of-K]``, else ``pass@1`` (K = 1)."""
    ks = [(int(m.group(1)), key) for key in metrics for m in [AVG.match(key)] if m]
    return max(ks) if ks else (1, "pass@1")


def combine(entries: List[Dict[str, Any]], weighted: bool = False) -> Dict[str, Any]:
    total = sum(e["num_entries"] for e in entries)
    if total == 0:
        return {"accuracy": 0, "num_entries": 0}
    if weighted:
        return {"accuracy": sum(e["accuracy"] * e["num_entries"] for e in entries) / total, "num_entries": total}
    return {"accuracy": sum(e["accuracy"] for e in entries) / len(entries), "num_entries": total}


def split_entries(members: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """split -> its selected mode dict; every split present, all with the same K."""
    missing = [s for s in SPLITS if f"{NAME}.{s}" not in members]
    if missing:
        raise UsageError(f"the {NAME} score needs all {len(SPLITS)} splits; missing: {', '.join(missing)} "
                         f"(to see some splits alone: --benchmarks {NAME}.<split>,...)")
    chosen = {s: selected_mode(members[f"{NAME}.{s}"]) for s in SPLITS}
    ks = {k for k, _ in chosen.values()}
    if len(ks) > 1:
        per_k = ", ".join(f"{s}: {k}" for s, (k, _) in chosen.items())
        raise UsageError(f"{NAME}: splits have different numbers of seeds (K of pass@1[avg-of-K]: {per_k}); "
                         "check that all generation jobs finished")
    out = {}
    for split, (_, mode) in chosen.items():
        entry = members[f"{NAME}.{split}"].get(mode)
        if not isinstance(entry, dict) or "accuracy" not in entry or "num_entries" not in entry:
            raise UsageError(f"{NAME}.{split}: its {mode} metrics have no accuracy/num_entries")
        out[split] = entry
    return out


def _as_list(value: Any) -> List[str]:
    return [] if value is None else list(value) if isinstance(value, list) else [str(value)]


class BFCLGroupScore(GroupScore):
    def compute(self, group: str, members: Dict[str, Any]) -> Dict[str, Any]:
        e = split_entries(members)
        simple = combine([e[s] for s in SIMPLE])
        non_live_ast = [simple] + [e[s] for s in OTHER_AST]
        live_ast = [e[s] for s in LIVE_AST]
        non_live = {
            "overall_non_live": combine(non_live_ast + [e["irrelevance"]]),
            "non_live_ast": combine(non_live_ast),
            "irrelevance": e["irrelevance"],
        }
        live = {
            "overall_live": combine(live_ast + [e["live_irrelevance"], e["live_relevance"]], weighted=True),
            "live_ast": combine(live_ast, weighted=True),
            "live_irrelevance": e["live_irrelevance"],
            "live_relevance": e["live_relevance"],
        }
        multi = {"overall_multi_turn": combine([e[s] for s in MULTI_TURN])}
        overall = combine([non_live["overall_non_live"], live["overall_live"], multi["overall_multi_turn"]])
        out = {"overall_accuracy": overall, "non_live_single_turn": non_live, "live_single_turn": live,
               "multi_turn": multi}
        checkers = sorted({c for v in e.values() for c in _as_list(v.get("bfcl_checker"))})
        if checkers:  # which gorilla code graded (the splits' recorded bfcl_checker)
            out["bfcl_checker"] = checkers[0] if len(checkers) == 1 else checkers
        return out

    def table(self, group: str, entry: Dict[str, Any]) -> List[str]:
        rows = []
        for section, key in ROWS:
            value = entry[section] if key is None else entry[section][key]
            rows.append([key or section, str(value["num_entries"]), f"{value['accuracy']:.2f}%"])
        header = ["category", "num_entries", "accuracy"]
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(3)]
        lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [header] + rows]
        total = sum(widths) + 3 * (len(widths) - 1)
        return [f" {group} ".center(total, "-")] + lines


SCORE = BFCLGroupScore()
