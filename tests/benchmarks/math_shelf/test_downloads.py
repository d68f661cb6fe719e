"""Without a mirror each benchmark downloads what the reference downloads (the URLs, HF ids and
splits below are the reference's), and the rows are the same as from the mirror. Downloads are
replaced by copies of the mirror's files, so nothing reaches the network."""

from __future__ import annotations

import shutil
import sys
import types

import pytest

from skills.data.prepare import prepare_benchmarks
from tests.benchmarks.math_shelf import rules
from tests.helpers.paths import FIXTURES

QWEN = "https://raw.githubusercontent.com/QwenLM/Qwen2.5-Math/refs/heads/main/evaluation/data/"
GH = "https://raw.githubusercontent.com/"
# URL the reference fetches -> the same file in a mirror (staged, or the fixtures for unstaged ones)
URLS = {
    "gsm8k": {GH + "openai/grade-school-math/master/grade_school_math/data/test.jsonl": "gsm8k/test.jsonl",
              GH + "openai/grade-school-math/master/grade_school_math/data/train.jsonl": "gsm8k/train.jsonl"},
    "amc23": {QWEN + "amc23/test.jsonl": "amc23/test.jsonl"},
    "college_math": {QWEN + "college_math/test.jsonl": "college_math/test.jsonl"},
    "gaokao2023en": {QWEN + "gaokao2023en/test.jsonl": "gaokao2023en/test.jsonl"},
    "minerva_math": {QWEN + "minerva_math/test.jsonl": "minerva_math/test.jsonl"},
    "olympiadbench": {QWEN + "olympiadbench/test.jsonl": "olympiadbench/test.jsonl"},
    "hendrycks_math": {QWEN + "math/test.jsonl": "hendrycks_math/test.jsonl",
                       QWEN + "math/train.jsonl": "hendrycks_math/train.jsonl"},
    "algebra222": {GH + "joyheyueya/declarative-math-word-problem/main/algebra222.csv": "algebra222/algebra222.csv"},
    "asdiv": {GH + "chaochun/nlu-asdiv-dataset/master/dataset/ASDiv.xml": "asdiv/ASDiv.xml"},
    "math-odyssey": {GH + "protagolabs/odyssey-math/main/final-odyssey-math-with-levels.jsonl":
                     "math-odyssey/final-odyssey-math-with-levels.jsonl"},
    "mawps": {GH + f"microsoft/ToRA/main/src/data/mawps/{s}.jsonl": f"mawps/{s}.jsonl"
              for s in ("addsub", "singleeq", "singleop", "multiarith")},
    "svamp": {GH + "arkilpatel/SVAMP/main/SVAMP.json": "svamp/SVAMP.json"},
    "comp-math-24-25": {GH + "NVIDIA/NeMo-Skills/0b012df8a09cd4730d31b16e90a0d8f13d145fb8/nemo_skills/dataset/"
                        "comp-math-24-25/test.txt": "comp-math-24-25/test.txt"},
    "gsm-plus": {"https://huggingface.co/datasets/qintongli/GSM-Plus/resolve/main/data/test-00000-of-00001.jsonl"
                 "?download=true": "gsm-plus/data/test-00000-of-00001.jsonl"},
}
HF = {"hmmt_feb25": ("MathArena/hmmt_feb_2025", "train"), "brumo25": ("MathArena/brumo_2025", "train"),
      "beyond-aime": ("ByteDance-Seed/BeyondAIME", "test")}
UNSTAGED = {"hendrycks_math", "gsm-plus", "brumo25", "beyond-aime"}


def source_of(bench, mirror_dir):
    return FIXTURES / "math_shelf" if bench in UNSTAGED else mirror_dir


@pytest.mark.parametrize("bench", sorted(URLS))
def test_downloads_the_references_urls(monkeypatch, tmp_path, mirror_dir, bench):
    src = source_of(bench, mirror_dir)
    fetched = []

    def fake_download(url, dest, **_):
        fetched.append(url)
        shutil.copyfile(src / URLS[bench][url], dest)
        return dest

    for module in ("skills.data.qwen_math", "skills.data.nemo_skills",
                   f"skills.benchmarks.{bench.replace('-', '_')}.prepare"):
        __import__(module)
        if hasattr(sys.modules[module], "download"):
            monkeypatch.setattr(sys.modules[module], "download", fake_download)
    monkeypatch.delenv("SKILLS_DATA_MIRROR", raising=False)
    prepare_benchmarks([bench], tmp_path / "web", None)
    assert sorted(fetched) == sorted(URLS[bench])
    prepare_benchmarks([bench], tmp_path / "mirror", src)
    for path in sorted((tmp_path / "mirror" / bench).iterdir()):
        assert (tmp_path / "web" / bench / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("bench", sorted(HF))
def test_loads_the_references_hf_split(monkeypatch, tmp_path, mirror_dir, bench):
    src = source_of(bench, mirror_dir)
    repo, split = HF[bench]
    calls = []

    def load_dataset(name, split=None, token=None):
        calls.append((name, split))
        return iter(rules.jsonl(src / bench / f"{split}.jsonl"))

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    monkeypatch.delenv("SKILLS_DATA_MIRROR", raising=False)
    prepare_benchmarks([bench], tmp_path / "hub", None)
    assert calls == [(repo, split)]
    prepare_benchmarks([bench], tmp_path / "mirror", src)
    hub, mirror = (tmp_path / where / bench / "test.jsonl" for where in ("hub", "mirror"))
    assert hub.read_bytes() == mirror.read_bytes()
