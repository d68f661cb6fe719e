"""Metric type ``arena`` (Arena-Hard): the candidate's win rate against the baseline answers, with a
bootstrap 95% interval, as the reference computes it (eval-metrics.md; NeMo-Skills'
``evaluator/arena.py``, itself adapted from arena-hard-auto's ``show_result.py``).

Each problem has two judgements (``<key>-gen-base``: the candidate is answer A; ``<key>-base-gen``:
the candidate is answer B). A verdict is the one distinct ``[[...]]`` label of a judgement
(``A>>B``, ``A>B``, ``A=B``, ``B>A``, ``B>>A``); none, several different ones, or any other label
is invalid and counted in ``invalid_scores``. A strong verdict weighs 3 battles, a weak one or a tie 1.

The reference fits a Bradley-Terry rating by logistic regression on the battles (each battle twice,
a tie counting as a win in the first copy and a loss in the second) and turns the rating back into
a win rate. With two players that fit has a closed form: the win rate is
``(2 * wins + ties) / (2 * battles)``, which is what we compute (no solver, no scikit-learn/pandas;
the solver's tolerance could only show where a win rate falls exactly on a rounding midpoint).
The interval: the reference seeds numpy's global generator with ``np.random.seed(42)`` and draws 100
resamples of the battle table with ``DataFrame.sample(frac=1.0, replace=True)``, i.e.
``np.random.choice(n, n, replace=True)`` on that generator, in the battle order (problems in file
order, the gen-base battles of a problem before its base-gen ones). Our ``RandomState(42)`` draws the
same indices. The 2.5th and 97.5th percentiles (numpy's linear interpolation) are taken of the
resamples' ratings (400 * log10(p / (1 - p)) above the baseline's 1000), turned into win rates,
rounded to 2 decimals, and reported relative to the rounded score: ``95_CI = (lower - score,
upper - score)``. One divergence: a resample with no win or no loss has an infinite rating where the
reference's solver stops at a large finite one; we clip such ratings at +-4000 (a win rate of
0.00% / 100.00% either way).
"""

from __future__ import annotations

import math
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from skills.metrics.base import Metrics, Scorer

LABEL = re.compile(r"\[\[([AB<>=]+)\]\]")
# candidate as answer A (gen-base): best to worst; as answer B (base-gen) the order is reversed
ORDER = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
# label -> (winner, weight) when the candidate is answer A; answer B swaps the winner
BATTLES = {"A>>B": ("candidate", 3), "A>B": ("candidate", 1), "A=B": ("tie", 1),
           "B>A": ("baseline", 1), "B>>A": ("baseline", 3)}
SEED = 42
ROUNDS = 100
ELO_CLIP = 4000.0


def verdict(judgement: Any) -> Optional[str]:
    """The one distinct ``[[...]]`` label of a judgement, or None."""
    if not isinstance(judgement, str):
        return None
    found = set(m for m in LABEL.findall(judgement) if m)
    return found.pop().strip("\n") if len(found) == 1 else None


def battles(pairs: Sequence[Tuple[Optional[str], Optional[str]]]) -> Tuple[List[str], int]:
    """The battle outcomes (``candidate``/``baseline``/``tie``) in the reference's order, and the
    number of invalid verdicts."""
    out: List[str] = []
    invalid = 0
    for pair in pairs:
        for swapped, label in enumerate(pair):
            if label not in BATTLES:
                invalid += 1
                continue
            winner, weight = BATTLES[label]
            if swapped and winner != "tie":
                winner = "baseline" if winner == "candidate" else "candidate"
            out.extend([winner] * weight)
    return out, invalid


def _rate(codes: Any) -> float:
    """Win rate of the candidate in the two-player rating fit: (2 wins + ties) / (2 battles)."""
    return float(codes.sum()) / (2.0 * len(codes))


def _elo(p: float) -> float:
    if p <= 0.0:
        return -ELO_CLIP
    if p >= 1.0:
        return ELO_CLIP
    return max(-ELO_CLIP, min(ELO_CLIP, 400.0 * math.log10(p / (1.0 - p))))


def _win_rate(elo: float) -> float:
    return round(100.0 / (1.0 + 10.0 ** (-elo / 400.0)), 2)


def aggregate(pairs: Sequence[Tuple[Optional[str], Optional[str]]], seed: int = SEED,
              rounds: int = ROUNDS) -> Dict[str, Any]:
    """``score``, ``95_CI`` and ``invalid_scores`` of the reference's ``get_aggregate_score``
    (score and interval None when no verdict is readable: the reference fails there)."""
    import numpy as np

    outcome, invalid = battles(pairs)
    if not outcome:
        return {"score": None, "95_CI": None, "invalid_scores": invalid}
    codes = np.array([2 if w == "candidate" else 1 if w == "tie" else 0 for w in outcome], dtype=np.int64)
    score = _win_rate(_elo(_rate(codes)))
    rng = np.random.RandomState(seed)
    n = len(codes)
    elos = [_elo(_rate(codes[rng.choice(n, size=n, replace=True)])) for _ in range(rounds)]
    lower = _win_rate(float(np.percentile(elos, 2.5)))
    upper = _win_rate(float(np.percentile(elos, 97.5)))
    return {"score": score, "95_CI": [round(lower - score, 2), round(upper - score, 2)], "invalid_scores": invalid}


class ArenaScorer(Scorer):
    """One ``pass@<files>`` mode: num_entries, score, 95_CI, invalid_scores, then the token and time
    columns, as the reference. With several files each order takes the best verdict any file has
    (as the reference, whose tables say pass@k for it)."""

    compute_no_answer = False
    row_scores = False  # a win rate over all battles: `ns report` / `ns compare` have no per-row correctness

    def __init__(self, judgement_key: str = "judgement") -> None:
        super().__init__()
        self.keys = (f"{judgement_key}-gen-base", f"{judgement_key}-base-gen")

    def score_dict(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        return {"arena_rows": 0}  # the scores are not sums over problems: see problem_record

    def incorrect_sample(self, prediction: Dict[str, Any]) -> Dict[str, Any]:
        """Too long (``--max_seq_len``): the baseline wins both orders clearly. The reference writes
        ``[[A>>B]]`` / ``[[B>>A]]`` here, which its own battle rules read as a clear win of the
        too-long answer; we do not copy that slip (no published number uses --max_seq_len here)."""
        row = dict(prediction)
        row[self.keys[0]] = "Rating: [[B>>A]]"
        row[self.keys[1]] = "Rating: [[A>>B]]"
        return row

    def problem_record(self, preds: Sequence[Dict[str, Any]]) -> Tuple[Optional[str], Optional[str]]:
        for key in self.keys:
            if key not in preds[0]:
                raise KeyError(key)
        if len(preds) == 1:
            return verdict(preds[0][self.keys[0]]), verdict(preds[0][self.keys[1]])
        picked: List[Optional[str]] = []
        for key, order in zip(self.keys, (ORDER, ORDER[::-1])):
            found = {verdict(p[key]) for p in preds}
            picked.append(next((label for label in order if label in found), None))
        return picked[0], picked[1]

    def evaluations_to_print(self, n: int) -> List[str]:
        return [f"pass@{n}"]

    def finalize_records(self, metrics: Metrics, records: List[Any]) -> Metrics:
        if not metrics:
            return metrics
        n = max(int(m.split("@")[1]) for m in metrics if m.startswith("pass@") and "[" not in m)
        common = {k: v for k, v in metrics[f"pass@{n}"].items() if k in ("avg_tokens", "gen_seconds")}
        mode: Dict[str, Any] = {"num_entries": metrics[f"pass@{n}"]["num_entries"], **aggregate(records), **common}
        return {f"pass@{n}": mode}
