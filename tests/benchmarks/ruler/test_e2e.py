"""RULER with its real generators (NVIDIA/RULER at the reference's commit, from the mirror, run in
.venv-ruler) and SmolLM2's tokenizer at 2048 tokens: the 13 tasks prepared once per module (2
samples each, about a minute on 2 cores), their rows and token budgets,
determinism, resuming, a hanging generator killed, and ``ns eval --benchmarks
ruler.<setup>`` end to end with SmolLM2 served by vLLM on the CPU (tiny-llama's 2k-entry vocabulary
cannot hold RULER's prompts: its qa and vt generators never finish), then ``ns summarize_results``
on the results alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Dict, List

import pytest

from tests.helpers.files import read_jsonl
from tests.helpers.paths import MODELS, NS
from tests.helpers.prereqs import environment_or_missing, missing
from tests.helpers.vllm import cpu_cluster_yaml
from skills.benchmarks.ruler import MATCH_TYPE, TASKS, TOKENS_TO_GENERATE, family

pytestmark = pytest.mark.slow
SMOLLM2 = MODELS / "smollm2-135m-instruct"
TINY = MODELS / "tiny-llama"
LENGTH, SAMPLES, SETUP = 2048, 2, "smol_2k"
SERVER_ARGS = f"--dtype float32 --max-model-len {LENGTH} --enforce-eager"


def ns(*args: str, cwd: Path, timeout: float = 900, env: Dict[str, str] | None = None):
    return subprocess.run([NS, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def prepare(data: Path, mirror: Path, *extra: str, tokenizer: Path = SMOLLM2, samples: int = SAMPLES):
    data.parent.mkdir(parents=True, exist_ok=True)
    return ns("prepare_data", "ruler", "--setup", SETUP, "--tokenizer_path", str(tokenizer), "--max_seq_length",
              str(LENGTH), "--num_samples", str(samples), "--num_workers", "2", f"--data_dir={data}",
              f"--mirror={mirror}", "--allow_input_mismatch", *extra, cwd=data.parent, env={"SKILLS_PROGRESS_INTERVAL": "600"})


@pytest.fixture(scope="module")
def ruler_python() -> str:
    return environment_or_missing("ruler", "RULER generator")


@pytest.fixture(scope="module")
def smollm2() -> Path:
    if not (SMOLLM2 / ".done").exists():
        missing(f"no SmolLM2 model at {SMOLLM2} (scripts/setup.sh converts it)")
    return SMOLLM2


@pytest.fixture(scope="module")
def ruler_mirror(mirror_dir, tmp_path_factory) -> Path:
    """The data mirror plus a stand-in ``ruler/english_words.json`` (the real one is a Git LFS object
    no snapshot holds). cwe only opens it at start-up unless it needs more distinct words than
    wonderwords has (8,169), which 2048 tokens never do, so the rows do not depend on it."""
    mirror = tmp_path_factory.mktemp("mirror")
    for entry in mirror_dir.iterdir():
        if entry.name != "ruler":
            (mirror / entry.name).symlink_to(entry)
    (mirror / "ruler").mkdir()
    for entry in (mirror_dir / "ruler").iterdir():
        (mirror / "ruler" / entry.name).symlink_to(entry)
    words = [w for w in (mirror_dir / "ruler" / "wonderwords-2.2.0" / "nounlist.txt").read_text().splitlines() if w]
    (mirror / "ruler" / "english_words.json").write_text(json.dumps({str(i): w for i, w in enumerate(words)}))
    return mirror


@pytest.fixture(scope="module")
def ruler_data(ruler_python, smollm2, ruler_mirror, tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("ruler") / "data"
    res = prepare(data, ruler_mirror)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return data


def setup_dir(data: Path) -> Path:
    return data / "ruler" / SETUP


COUNT = r"""
import json, sys
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
out = []
for line in sys.stdin:
    row = json.loads(line)
    chat = tok.apply_chat_template([{"role": "user", "content": row["question"]}], tokenize=False,
                                   add_generation_prompt=True) + row["generation"]
    out.append({"sent": len(tok(chat, add_special_tokens=False)["input_ids"]),
                "input": len(tok.tokenize(row["question"] + " " + row["generation"])),
                "template": len(tok.tokenize("{task_template}"))})
print(json.dumps(out))
"""


def test_rows_and_token_budgets(ruler_data, ruler_python):
    root = setup_dir(ruler_data)
    group = (root / "__init__.py").read_text()
    assert "IS_BENCHMARK_GROUP = True" in group and "nemo_skills.dataset.ruler.ruler_score" in group
    assert [line.strip()[1:].split("'")[0] for line in group.splitlines() if line.startswith("    '")] == \
        [f"ruler.{SETUP}.{t}" for t in TASKS]
    rows_of = {task: read_jsonl(root / task / "test.jsonl") for task in TASKS}
    lines = "".join(json.dumps(row) + "\n" for task in TASKS for row in rows_of[task])
    counted = json.loads(subprocess.run([ruler_python, "-c", COUNT, str(SMOLLM2)], input=lines, text=True,
                                        capture_output=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}
                                        ).stdout.strip().splitlines()[-1])  # one tokenizer load for every task
    assert len(counted) == SAMPLES * len(TASKS)
    for index, task in enumerate(TASKS):
        rows = rows_of[task]
        assert len(rows) == SAMPLES
        assert f"++inference.tokens_to_generate={TOKENS_TO_GENERATE[family(task)]}" in \
            (root / task / "__init__.py").read_text()
        ttg = TOKENS_TO_GENERATE[family(task)]
        counts = counted[index * SAMPLES:(index + 1) * SAMPLES]
        for row, n in zip(rows, counts):
            assert list(row) == ["index", "question", "expected_answer", "length", "generation"]
            assert isinstance(row["expected_answer"], list) and row["expected_answer"]
            assert row["generation"] and row["generation"] == row["generation"].strip()
            # the generator's own count of prompt + answer prefix + ttg, within the reference's budget
            assert row["length"] <= LENGTH - 50 - n["template"], task
            assert abs(row["length"] - ttg - n["input"]) <= 1, task
            assert n["sent"] + ttg <= LENGTH, task  # what the text endpoint sends, chat template included
            if task.startswith("niah"):
                assert row["index"] == row["question"].find(row["expected_answer"][0]) >= 0
    assert read_jsonl(root / "qa_1" / "test.jsonl")[0]["generation"] == "Answer:"
    vt = read_jsonl(root / "vt" / "test.jsonl")[0]
    assert vt["question"].startswith("Memorize") and len(vt["expected_answer"]) == 5
    assert vt["question"].count("Memorize and track") == 2  # RULER's in-context example comes first


def test_same_seed_same_bytes_and_resume(ruler_data, ruler_mirror, tmp_path):
    tasks = "niah_single_2,vt,qa_1"
    again = tmp_path / "again" / "data"
    res = prepare(again, ruler_mirror, "--tasks", tasks)
    assert res.returncode == 0, res.stderr[-3000:]
    for task in tasks.split(","):
        assert (setup_dir(again) / task / "test.jsonl").read_bytes() == \
            (setup_dir(ruler_data) / task / "test.jsonl").read_bytes(), task
    other = tmp_path / "other" / "data"
    assert prepare(other, ruler_mirror, "--tasks", "vt,qa_1", "--random_seed", "7").returncode == 0
    for task in ("vt", "qa_1"):
        assert (setup_dir(other) / task / "test.jsonl").read_bytes() != \
            (setup_dir(ruler_data) / task / "test.jsonl").read_bytes(), task
    before = {t: (setup_dir(ruler_data) / t / "test.jsonl").stat().st_mtime_ns for t in TASKS}
    start = time.monotonic()
    res = prepare(ruler_data, ruler_mirror)  # same settings: nothing to generate
    assert res.returncode == 0 and res.stdout.count("up to date") == len(TASKS)
    assert time.monotonic() - start < 60
    assert {t: (setup_dir(ruler_data) / t / "test.jsonl").stat().st_mtime_ns for t in TASKS} == before


def test_a_hanging_generator_is_killed(ruler_python, mirror_dir, tmp_path):
    """tiny-llama's tokenizer makes every HotpotQA document set too long at 2048: qa_2 loops forever."""
    if not TINY.is_dir():
        missing(f"no tiny model at {TINY}")
    data = tmp_path / "data"
    start = time.monotonic()
    res = prepare(data, mirror_dir, "--tasks", "qa_2", "--stall_timeout", "15", tokenizer=TINY, samples=1)
    assert res.returncode == 2
    assert "made no progress for 15 s" in res.stderr and "killed" in res.stderr
    assert time.monotonic() - start < 120
    assert not (setup_dir(data) / "qa_2" / "test.jsonl").exists()
    assert not (setup_dir(data) / "__init__.py").exists()


def _recomputed(rows: List[dict], match_type: str) -> List[float]:
    out = []
    for row in rows:
        hits = [ref.lower() in row["generation"].lower() for ref in row["expected_answer"]]
        out.append(sum(hits) / len(hits) if match_type == "all" else float(any(hits)))
    return out


def test_ns_eval_end_to_end(ruler_data, vllm_python, smollm2, tmp_path):
    try:
        import transformers  # noqa: F401  (the text endpoint renders the chat template here)
    except ImportError:
        missing("transformers is not installed next to skills (pip install 'skills[hf]'; scripts/setup.sh does)")
    out = tmp_path / "out"
    res = ns("eval", f"--cluster={cpu_cluster_yaml(tmp_path, vllm_python)}", f"--model={smollm2}",
             "--server_type=vllm", "--server_gpus=1", f"--server_args={SERVER_ARGS}", f"--benchmarks=ruler.{SETUP}",
             f"--data_dir={ruler_data}", f"--output_dir={out}", "++max_samples=1", "++inference.temperature=0.0",
             "++inference.top_p=1.0", "++system_message=/no_think", cwd=tmp_path, timeout=1500,
             env={"HF_HUB_OFFLINE": "1"})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    group = out / "eval-results" / f"ruler.{SETUP}"
    accuracy = {}
    for task in TASKS:
        folder = group / f"ruler.{SETUP}.{task}"
        assert (folder / "output.jsonl.done").exists()
        rows = read_jsonl(folder / "output.jsonl")
        source = read_jsonl(setup_dir(ruler_data) / task / "test.jsonl")[:1]
        assert [r["question"] for r in rows] == [s["question"] for s in source]
        scores = _recomputed(rows, MATCH_TYPE[family(task)])
        assert [r["is_correct"] for r in rows] == scores
        accuracy[task] = 100.0 * sum(scores) / len(scores)
        entry = json.loads((folder / "metrics.json").read_text())[f"ruler.{SETUP}.{task}"]
        assert list(entry) == ["pass@1"] and entry["pass@1"]["accuracy"] == pytest.approx(accuracy[task])
    metrics = json.loads((group / "metrics.json").read_text())
    assert list(metrics) == [f"ruler.{SETUP}.{t}" for t in TASKS] + [f"ruler.{SETUP}"]
    mean = sum(accuracy.values()) / len(TASKS)
    assert metrics[f"ruler.{SETUP}"] == {"pass@1": {"accuracy": pytest.approx(mean)}}
    assert f"average         | {mean:.2f}%" in res.stdout

    # the results alone (no data dir): the same numbers under the same keys
    summary = ns("summarize_results", str(out / "eval-results"), cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    again = json.loads((out / "eval-results" / "metrics.json").read_text())
    assert again[f"ruler.{SETUP}"] == metrics[f"ruler.{SETUP}"]
    for task in TASKS:
        assert again[f"ruler.{SETUP}.{task}"]["pass@1"]["accuracy"] == pytest.approx(accuracy[task])
