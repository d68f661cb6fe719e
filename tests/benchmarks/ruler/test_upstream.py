"""RULER at the reference's commit: ``ns prepare_data ruler`` gives the rows RULER's own ``prepare.py``
gives (run here as the reference's prepare runs it, from the mirror's copy of NVIDIA/RULER, with the
same tokenizer, seed and length), and the pinned code is fetched once and checked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl
from tests.helpers.paths import MODELS, NS
from tests.helpers.prereqs import environment_or_missing, missing
from skills.benchmarks.ruler import upstream
from skills.benchmarks.ruler.upstream import RULER
from skills.data.upstream import fetch, intact

SMOLLM2 = MODELS / "smollm2-135m-instruct"
LENGTH, SAMPLES, TEMPLATE_TOKENS = 2048, 3, 50


@pytest.fixture(scope="module")
def ruler_python() -> str:
    return environment_or_missing("ruler", "RULER generator")


@pytest.fixture(scope="module")
def smollm2() -> Path:
    if not (SMOLLM2 / ".done").exists():
        missing(f"no SmolLM2 model at {SMOLLM2} (scripts/setup.sh converts it)")
    return SMOLLM2


def upstream_rows(ruler_python: str, mirror_dir: Path, tmp_path: Path, task: str) -> list:
    """RULER's ``prepare.py --prepare_for_ns`` as the reference's prepare calls it, converted to rows
    as the reference converts them (question = input, generation = the stripped answer prefix)."""
    clone = tmp_path / "RULER"
    shutil.copytree(mirror_dir / "ruler-upstream" / "scripts", clone / "scripts")
    nltk = tmp_path / "nltk_data"
    (nltk / "tokenizers" / "punkt").mkdir(parents=True)  # prepare.py looks for it (and would download it)
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(ruler_python).parent), os.environ["PATH"]]),
           "HF_HUB_OFFLINE": "1", "NLTK_DATA": str(nltk)}
    out = tmp_path / "ruler_data"
    res = subprocess.run(["python", "prepare.py", "--save_dir", str(out), "--benchmark", "synthetic", "--subset", "test",
                          "--task", task, "--tokenizer_type", "hf", "--model_template_type", "base", "--prepare_for_ns",
                          "--num_samples", str(SAMPLES), "--max_seq_length", str(LENGTH - TEMPLATE_TOKENS),
                          "--tokenizer_path", str(SMOLLM2)],
                         cwd=clone / "scripts" / "data", env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and (out / task / "test.jsonl").is_file(), res.stdout[-3000:] + res.stderr[-3000:]
    return [{"index": r["index"], "question": r["input"], "expected_answer": r["outputs"], "length": r["length"],
             "generation": r["answer_prefix"].strip()} for r in read_jsonl(out / task / "test.jsonl")]


def test_vt_rows_are_the_upstream_generator_s(ruler_python, smollm2, mirror_dir, tmp_path):
    data = tmp_path / "data"
    res = subprocess.run([NS, "prepare_data", "ruler", "--setup", "parity", "--tokenizer_path", str(smollm2),
                          "--max_seq_length", str(LENGTH), "--num_samples", str(SAMPLES), "--tasks", "vt",
                          f"--data_dir={data}", f"--mirror={mirror_dir}", "--no-prompts"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    ours = read_jsonl(data / "ruler" / "parity" / "vt" / "test.jsonl")
    assert ours == upstream_rows(ruler_python, mirror_dir, tmp_path, "vt")
    # what the older packaged snapshot wrote differently (a misspelt prefix, noise joined by spaces)
    assert all("variables are assigned the value" in r["generation"] for r in ours)
    assert all("There and back again.\nThe grass is green." in r["question"] for r in ours)
    stamp = json.loads((data / "ruler" / "parity" / "vt" / ".prepared.json").read_text())
    assert stamp["ruler_commit"] == RULER.commit


def test_pinned_code_is_fetched_once_and_checked(mirror_dir, tmp_path, monkeypatch):
    code = upstream.fetch_code(tmp_path, mirror_dir)
    assert code == tmp_path / ".upstream" / f"ruler-{RULER.commit[:12]}"
    assert (code / "scripts" / "data" / "synthetic" / "variable_tracking.py").is_file()
    assert not (code / "README.md").exists()  # only the kept folders
    assert intact(code, RULER, RULER.commit)
    before = (code / "UPSTREAM.json").stat().st_mtime_ns
    upstream.fetch_code(tmp_path, mirror_dir)
    assert (code / "UPSTREAM.json").stat().st_mtime_ns == before  # intact: not fetched again
    (code / "scripts" / "synthetic.yaml").write_text("edited")
    assert not intact(code, RULER, RULER.commit)
    upstream.fetch_code(tmp_path, mirror_dir)
    assert intact(code, RULER, RULER.commit) and (code / "scripts" / "synthetic.yaml").read_text() != "edited"
    monkeypatch.setenv(RULER.commit_env, "0123456789abcdef0123456789abcdef01234567")
    with pytest.raises(Exception, match="holds commit ab17b7853df4, not the pinned 0123456789ab"):
        fetch(RULER, tmp_path / "other", mirror_dir)


def test_cwe_without_its_word_list_is_one_line(ruler_python, smollm2, mirror_dir, tmp_path):
    """english_words.json is a Git LFS object: not in the mirror and not downloadable here, cwe stops
    with one line saying where to put it (the other tasks never need it)."""
    res = subprocess.run([NS, "prepare_data", "ruler", "--setup", "c", "--tokenizer_path", str(smollm2),
                          "--max_seq_length", str(LENGTH), "--num_samples", "1", "--tasks", "cwe",
                          f"--data_dir={tmp_path / 'data'}", f"--mirror={mirror_dir}", "--no-prompts"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, upstream.LFS_URL_ENV: "http://127.0.0.1:9/{repo}/{commit}/{path}"})
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "cwe needs english_words.json" in lines[0] and "<mirror>/ruler/english_words.json" in lines[0]
    assert not (tmp_path / "data" / "ruler" / "c" / "cwe" / "test.jsonl").exists()
