"""BFCL multi-turn verdicts at the reference's gorilla pin (d2177992).

Every multi-turn entry whose ground truth calls ``TravelAPI.contact_customer_support`` (15 per
category): at the pin that function echoes the model's message, so the ground-truth response check
passes only with the ground truth's exact message; bfcl-eval 2025.7.17 returns a fixed text and
passes any message. Our grader (per entry, confined worker, default build) must give the verdicts
of the reference's route: ``bfcl evaluate --model o3-mini-2025-01-31-FC --test-category <split>``
of the pinned build, run here on whole splits.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

from tests.helpers.files import read_jsonl

from skills.benchmarks.bfcl_v3 import MULTI_TURN
from skills.evaluation import grade_file

MODEL = "o3-mini-2025-01-31-FC"  # what the reference asks the checker for
DONE = "Done."
NO_ACTION = "I cannot do that with the available functions."


def fc(call: str, message: str | None = None) -> Dict[str, str]:
    """A ground-truth call string as the model's step item ({name: JSON args}); ``message`` replaces
    contact_customer_support's message."""
    node = ast.parse(call, mode="eval").body
    args = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    if message is not None and node.func.id == "contact_customer_support":
        args["message"] = message
    return {node.func.id: json.dumps(args)}


def as_result(ground_truth: List[List[str]], message: str | None) -> list:
    """Each turn: one step with the turn's calls and a closing text step; no calls: a text answer."""
    return [[[fc(c, message) for c in turn], DONE] if turn else [NO_ACTION] for turn in ground_truth]


@pytest.fixture(scope="module")
def entries(mirror_dir) -> Dict[str, Dict[str, list]]:
    """split -> {id: ground truth} of the entries that contact customer support."""
    out = {}
    for split in MULTI_TURN:
        path = mirror_dir / "bfcl_v3" / "possible_answer" / f"BFCL_v3_{split}.json"
        rows = read_jsonl(path)
        out[split] = {r["id"]: r["ground_truth"] for r in rows if "contact_customer_support(" in json.dumps(r)}
        assert len(out[split]) == 15
    return out


def reference_verdicts(bfcl_python: Path, root: Path, results: Dict[str, Dict[str, list]], mirror_dir: Path) -> dict:
    """``bfcl evaluate`` of the environment's build on the four whole splits (other entries: no answer)."""
    folder = root / "result" / MODEL
    folder.mkdir(parents=True)
    for split, answers in results.items():
        questions = (mirror_dir / "bfcl_v3" / f"BFCL_v3_{split}.json").read_text().splitlines()
        ids = [json.loads(x)["id"] for x in questions if x.strip()]
        (folder / f"BFCL_v3_{split}_result.json").write_text(
            "".join(json.dumps({"id": i, "result": answers.get(i, [])}) + "\n" for i in ids))
    env = {**os.environ, "BFCL_PROJECT_ROOT": str(root), "OPENAI_API_KEY": "unused"}
    res = subprocess.run([str(bfcl_python.parent / "bfcl"), "evaluate", "--model", MODEL, "--test-category",
                          ",".join(results)], env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    verdicts = {}
    for split, answers in results.items():
        score = (root / "score" / MODEL / f"BFCL_v3_{split}_score.json").read_text().splitlines()
        failed = {json.loads(x)["id"] for x in score[1:]}
        verdicts.update({i: i not in failed for i in answers})
    return verdicts


def our_verdicts(path: Path, results: Dict[str, Dict[str, list]], config: dict) -> dict:
    """Our grader on just these rows (any subset of a split is graded alone)."""
    path.write_text("".join(json.dumps({"id": i, "generation": r}) + "\n"
                            for answers in results.values() for i, r in answers.items()))
    grade_file(path, "bfcl", config)
    rows = read_jsonl(path)
    assert {r["bfcl_checker"] for r in rows} == {"bfcl-eval==2025.7.17" if config else "gorilla@d2177992bbba"}
    return {r["id"]: r["is_correct"] for r in rows}


@pytest.mark.parametrize("message", [None, "Please help with my booking."], ids=["gt-message", "other-message"])
def test_contact_customer_support_verdicts_are_the_reference_checker_s(bfcl_python, bwrap, mirror_dir, entries,
                                                                      tmp_path, message):
    results = {split: {i: as_result(gt, message) for i, gt in truths.items()} for split, truths in entries.items()}
    reference = reference_verdicts(bfcl_python, tmp_path / "root", results, mirror_dir)
    assert len(reference) == 60
    assert our_verdicts(tmp_path / "ours.jsonl", results, {}) == reference
    if message is None:  # the ground truth itself passes
        assert all(reference.values())
    else:  # the echoed message differs from the ground truth's: the pinned checker fails them all...
        assert not any(reference.values())
        newer = our_verdicts(tmp_path / "pypi.jsonl", results, {"build": "pypi"})
        assert all(newer.values())  # ...which the newer checker passes: the build decides
