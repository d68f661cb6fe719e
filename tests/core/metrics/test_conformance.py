"""Conformance with NeMo-Skills' summarize_results on its own test outputs (README of the data).

Only the metric types built so far are compared: gpqa (multichoice), hendrycks_math (math, with
subsets and reward-model modes), human-eval (evalplus, declared by the evalplus family), ifeval (if,
declared by the ifbench package: two pass@k computations, own denominators and key order) and
arena-hard (arena: win rate and bootstrap interval). Tables must match byte for byte, metrics.json
entries in keys, JSON types and values (1e-6).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from skills.metrics.summarize import main

BENCHES = ["arena-hard", "gpqa", "hendrycks_math", "human-eval", "ifeval"]
TABLES = ["arena-hard", "gpqa", "hendrycks_math", "hendrycks_math-aime25", "hendrycks_math-aime24", "human-eval",
          "ifeval"]


@pytest.fixture(scope="module")
def conformance_dir() -> Path:
    shared = os.environ.get("SKILLS_SHARED_DIR")
    path = Path(shared) / "conformance" / "nemo-skills-eval-outputs" if shared else None
    if path is None or not path.is_dir():
        msg = f"conformance data not found (SKILLS_SHARED_DIR={shared!r})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def _fresh_copy(src: Path, dst: Path) -> Path:
    root = dst / "eval-results"
    for bench in BENCHES:
        shutil.copytree(src / "eval-results" / bench, root / bench)
        for f in (root / bench).iterdir():
            f.chmod(0o644)
            if f.name.endswith(".jsonl-test"):
                f.rename(f.with_name(f.name[: -len("-test")]))
    return root


def _blocks(text: str) -> Dict[str, str]:
    """Table name -> its text (title, header, rows, each line ending with a newline)."""
    out = {}
    for block in text.split("\n\n\n"):
        lines = [ln for ln in block.split("\n") if "Metrics for Max Sequence Length" not in ln]
        if lines and lines[0]:
            out[lines[0].strip("-").strip()] = "\n".join(lines) + "\n"
    return out


def _compare_json(got: Any, exp: Any, where: str = "") -> None:
    assert type(got) is type(exp), f"{where}: type {type(got).__name__} != {type(exp).__name__}"
    if isinstance(exp, dict):
        assert set(got) == set(exp), f"{where}: keys {sorted(set(got) ^ set(exp))} differ"
        for k in exp:
            _compare_json(got[k], exp[k], f"{where}/{k}")
    elif isinstance(exp, list):
        assert len(got) == len(exp), where
        for i, (g, e) in enumerate(zip(got, exp)):
            _compare_json(g, e, f"{where}[{i}]")
    elif isinstance(exp, (int, float)) and not isinstance(exp, bool):
        assert abs(got - exp) <= 1e-6, f"{where}: {got} != {exp}"
    else:
        assert got == exp, where


@pytest.mark.parametrize(
    "max_seq_len, txt, js",
    [
        (None, "summarize_results_output.txt", "metrics.json-test"),
        (8192, "summarize_results_output-ms8192.txt", "metrics-ms8192.json-test"),
        (32768, "summarize_results_output.txt", "metrics.json-test"),
    ],
)
def test_matches_reference(conformance_dir: Path, tmp_path: Path, capsys, max_seq_len: Optional[int], txt: str, js: str):
    root = _fresh_copy(conformance_dir, tmp_path)
    argv: List[str] = [str(root)] + ([f"--max_seq_len={max_seq_len}"] if max_seq_len else [])
    assert main(argv) == 0
    lines = capsys.readouterr().out.split("\n")
    assert lines[-1] == ""
    # a what-if summary (--max_seq_len) is written beside metrics.json, never over it (our change)
    saved = root / ("metrics.json" if max_seq_len is None else f"metrics-max_seq_len-{max_seq_len}.json")
    assert lines[-2] == f"Metrics are saved to {saved}"
    assert (root / "metrics.json").exists() == (max_seq_len is None)
    # our one line under the tables saying what "±" means; the tables above it are the reference's, byte for byte
    assert lines[-3].startswith("± = standard deviation of the score across seeds")
    body = "\n".join(lines[:-3]) + "\n"

    expected_blocks = _blocks((conformance_dir / txt).read_text())
    expected = "\n\n".join(expected_blocks[name] for name in TABLES) + "\n\n"
    if max_seq_len is not None:
        width = len(expected_blocks[TABLES[0]].split("\n")[0])
        banner = f" Metrics for Max Sequence Length {max_seq_len} ".center(width, "-")
        expected = banner + "\n" + expected
    assert body == expected

    got = json.loads(saved.read_text())
    exp_all = json.loads((conformance_dir / "eval-results" / js).read_text())
    assert list(got) == TABLES
    for name in TABLES:
        _compare_json(got[name], exp_all[name], name)
        assert list(got[name]) == list(exp_all[name]), f"{name}: mode order"


def test_banner_of_reference_file(conformance_dir: Path):
    """The reference centres the banner on the first table, as we do."""
    text = (conformance_dir / "summarize_results_output-ms8192.txt").read_text()
    first, second = text.split("\n")[:2]
    assert first == " Metrics for Max Sequence Length 8192 ".center(len(second), "-")


def test_module_entry_point(conformance_dir: Path, tmp_path: Path):
    root = _fresh_copy(conformance_dir, tmp_path)
    out = tmp_path / "sub" / "m.json"
    proc = subprocess.run(
        [sys.executable, "-m", "skills.metrics.summarize", str(root), "--benchmarks", "gpqa", "--save_metrics_path", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "-" * 34 + " gpqa " + "-" * 34
    assert proc.stdout.splitlines()[-1] == f"Metrics are saved to {out}"
    assert list(json.loads(out.read_text())) == ["gpqa"]
