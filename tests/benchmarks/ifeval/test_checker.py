"""IFEval verdicts: our grader against Google's official checker, run as the reference runs it.

For every prompt of the staged data, crafted responses (``crafted.py``: made to follow, to break,
half and half, only loosely, blank; 2,705 rows) are graded twice: by our ``ifeval`` grader (``grade_file``, in
the grader environment) and by the official ``python -m instruction_following_eval.evaluation_main``
on the same file, in the same environment. Every row's ``strict_eval`` and ``loose_eval`` must equal
the official ``eval_results_strict/loose.jsonl`` lines. The crafted set is checked to give both
verdicts for every instruction type, so a grader that always says yes (or no) cannot pass. The
reference's own graded rows (conformance data) are re-graded too.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from skills.benchmarks.ifeval import prepare as ifp
from skills.config.errors import UsageError
from skills.evaluation import grade_file
from tests.benchmarks.ifeval.crafted import VARIANTS, responses


def _data(mirror_dir: Path):
    return ifp.format_rows(mirror_dir / "ifeval" / "input_data.jsonl")


def _write(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _official(python: str, code: Path, nltk: Path, path: Path, out: Path):
    out.mkdir()
    env = {**os.environ, "NLTK_DATA": str(nltk)}
    # the official module run unchanged, with langdetect seeded as our grader seeds it
    run = ("import runpy, sys; from langdetect import DetectorFactory; DetectorFactory.seed = 0; "
           "sys.argv[0] = 'evaluation_main'; "
           "runpy.run_module('instruction_following_eval.evaluation_main', run_name='__main__')")
    res = subprocess.run([python, "-c", run, f"--input_data={path}",
                          f"--input_response_data={path}", f"--output_dir={out}"],
                         cwd=code, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return {mode: [json.loads(line) for line in (out / f"eval_results_{mode}.jsonl").read_text().splitlines()]
            for mode in ("strict", "loose")}


@pytest.fixture(scope="module")
def both(ifeval_python, ifeval_code, nltk_dir, mirror_dir, tmp_path_factory):
    """variant -> (our graded rows, the official strict results, the official loose results), all 541
    prompts each. The variants share one file (one run of each checker): the official checker looks
    responses up by prompt, so each row's prompt gets its variant's tag (no IFEval check reads it)."""
    rows = [{**r, "prompt": f"{r['prompt']} [{variant}]"}
            for variant in VARIANTS for r in responses(_data(mirror_dir), variant)]
    tmp = tmp_path_factory.mktemp("crafted")
    ours = _write(tmp / "output.jsonl", rows)
    official = _official(ifeval_python, ifeval_code, nltk_dir, _write(tmp / "official.jsonl", rows), tmp / "out")
    counts = grade_file(ours, "if", {"code_dir": str(ifeval_code), "nltk_data": str(nltk_dir)},
                        generation_key="response")
    assert counts["entries"] == len(rows) == 541 * len(VARIANTS)
    graded = [json.loads(line) for line in ours.read_text().splitlines()]
    out = {}
    for i, variant in enumerate(VARIANTS):
        part = slice(541 * i, 541 * (i + 1))
        assert all(r["prompt"].endswith(f" [{variant}]") for r in graded[part])
        out[variant] = (graded[part], official["strict"][part], official["loose"][part])
    return out


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_verdicts_equal_the_official_checker(both, variant):
    graded, strict_results, loose_results = both[variant]
    assert len(graded) == len(strict_results) == len(loose_results) == 541
    for row, strict, loose in zip(graded, strict_results, loose_results):
        assert row["strict_eval"] == strict, row["key"]
        assert row["loose_eval"] == loose, row["key"]
        assert list(row["strict_eval"]) == list(strict)  # the same keys in the same order


def test_crafted_set_gives_both_verdicts_for_every_instruction_type(both):
    seen = defaultdict(set)
    for graded, _, _ in both.values():
        for row in graded:
            for mode in ("strict_eval", "loose_eval"):
                for iid, ok in zip(row["instruction_id_list"], row[mode]["follow_instruction_list"]):
                    seen[iid].add(ok)
    assert len(seen) == 25  # every instruction type of the data
    one_sided = sorted(iid for iid, verdicts in seen.items() if verdicts != {True, False})
    assert not one_sided, one_sided
    # loose forgives what strict does not: the 'loose' variant passes more instructions loosely
    graded = both["loose"][0]
    strict = sum(sum(r["strict_eval"]["follow_instruction_list"]) for r in graded)
    loose = sum(sum(r["loose_eval"]["follow_instruction_list"]) for r in graded)
    assert loose > strict


def test_a_row_without_text_is_refused(ifeval_python, ifeval_any_code, nltk_dir, mirror_dir, tmp_path, capfd):
    row = {**_data(mirror_dir)[0], "response": None}
    path = _write(tmp_path / "output.jsonl", [row])
    with pytest.raises(UsageError, match="failed"):
        grade_file(path, "if", {"code_dir": str(ifeval_any_code), "nltk_data": str(nltk_dir)},
                   generation_key="response")
    assert "line 1 has no response text to grade (got NoneType)" in capfd.readouterr().err
    assert "strict_eval" not in path.read_text()  # nothing half-graded


def test_missing_checker_code_is_one_clear_line(ifeval_python, nltk_dir, mirror_dir, tmp_path, capfd):
    path = _write(tmp_path / "output.jsonl", [{**_data(mirror_dir)[0], "response": "hi"}])
    with pytest.raises(UsageError, match="failed"):
        grade_file(path, "if", {"code_dir": str(tmp_path / "none"), "nltk_data": str(nltk_dir)},
                   generation_key="response")
    err = capfd.readouterr().err
    assert "IFEval's checker is not in" in err and "run `ns prepare_data ifeval`" in err
    assert "Traceback" not in err
