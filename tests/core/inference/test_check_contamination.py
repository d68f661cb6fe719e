"""The contamination check as the reference does it: ``retrieve_similar`` (the closest training
problems by cosine similarity of sentence embeddings) and ``--generation_type=check_contamination``
(an LLM asked, with the fetched ``judge/check-contamination`` prompt, whether two problems are the
same), against the stub server with scripted answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from skills.cli.app import main as ns
from skills.inference import retrieve_similar
from tests.helpers.files import read_jsonl, write_jsonl
from tests.helpers.stub_server import StubProcess

PIN = "0b012df8a09cd4730d31b16e90a0d8f13d145fb8"
ROWS = [
    # an exact match (stripped, lower case) with its second similar item: decided without the model
    {"id": 0, "problem": "What is 2+2?", "similar_items": ["Compute 3+3.", "  what is 2+2? "],
     "similarity_scores": [0.7, 0.99]},
    # the first similar item is the same problem reworded (the stub says True), the second is not
    {"id": 1, "problem": "Find x if x+1=3.", "similar_items": ["Solve x+1=3 for x.", "Compute 5!."],
     "similarity_scores": [0.9, 0.2]},
    {"id": 2, "problem": "Area of a unit circle?", "similar_items": ["Perimeter of a square.", "Solve x+1=3 for x.",
                                                                      "Sum of angles."],
     "similarity_scores": [0.5, 0.4, 0.1]},
]


def _run(tmp_path: Path, prompt_set: Path, extra=(), name="out.jsonl"):
    src = write_jsonl(tmp_path / "retrieved.jsonl", ROWS)
    out = tmp_path / name
    record = tmp_path / f"{name}.requests"
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([{"contains": "Solve x+1=3", "answer": " True \n"}]))
    with StubProcess(answer="False", script=answers, record=record) as stub:
        res = subprocess.run(
            [sys.executable, "-m", "skills.inference.check_contamination", "++server.server_type=vllm",
             f"++server.base_url={stub.base_url}", "++server.model=judge", f"++input_file={src}",
             f"++output_file={out}", f"++prompt_set_dir={prompt_set}", *extra],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "SKILLS_PROMPT_SOURCE": "reference",
                 "PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    assert res.returncode == 0, res.stderr
    sent = [r["body"]["messages"] for r in read_jsonl(record) if "messages" in (r.get("body") or {})]
    return read_jsonl(out), sent, res.stderr


def test_check_contamination_program(tmp_path, reference_prompt_sets):
    prompt_set = reference_prompt_sets / "nemo-skills" / PIN
    template = yaml.safe_load((prompt_set / "config" / "judge" / "check-contamination.yaml").read_text())["user"]

    def asked(p1, p2):
        return [{"role": "user", "content": template.format(problem1=p1, problem2=p2)}]

    lines, sent, log = _run(tmp_path, prompt_set)
    # top_k defaults to the first line's 2 similar items; line 0 is an exact match: never asked
    assert sorted(sent, key=str) == sorted([
        asked("Find x if x+1=3.", "Solve x+1=3 for x."), asked("Find x if x+1=3.", "Compute 5!."),
        asked("Area of a unit circle?", "Perimeter of a square."), asked("Area of a unit circle?", "Solve x+1=3 for x."),
    ], key=str)
    assert [line["contaminated"] for line in lines] == [True, True, True]
    assert "all_generations" not in lines[0] and "generation_time" not in lines[0]
    assert lines[1]["all_generations"] == [" True \n", "False"]  # in the order asked; " True " counts (stripped)
    assert lines[2]["all_generations"] == ["False", " True \n"]
    for line, row in zip(lines, ROWS):
        assert list(line)[0] == "contaminated" and {k: line[k] for k in row} == row
    assert lines[1]["generation_time"] >= 0 and "num_generated_tokens" not in lines[1]
    assert "Contamination portion: 100.00% (3/3)" in log
    assert Path(f"{tmp_path / 'out.jsonl'}.done").exists()

    # top_k=1 and both ways: each pair asked as (problem, similar) then (similar, problem)
    lines, sent, log = _run(tmp_path, prompt_set, ["++top_k=1", "++check_both_ways=True"], "both.jsonl")
    assert sorted(sent, key=str) == sorted([
        asked("Find x if x+1=3.", "Solve x+1=3 for x."), asked("Solve x+1=3 for x.", "Find x if x+1=3."),
        asked("Area of a unit circle?", "Perimeter of a square."), asked("Perimeter of a square.", "Area of a unit circle?"),
    ], key=str)
    assert [line["contaminated"] for line in lines] == [True, True, False]
    assert lines[2]["all_generations"] == ["False", "False"]
    assert "Contamination portion: 66.67% (2/3)" in log


def test_bad_input_is_one_line(tmp_path, reference_prompt_sets):
    src = write_jsonl(tmp_path / "in.jsonl", [{"question": "q", "similar_items": ["a"]}])
    res = subprocess.run(
        [sys.executable, "-m", "skills.inference.check_contamination", "++server.server_type=vllm",
         "++server.base_url=http://127.0.0.1:9/v1", "++server.model=m", f"++input_file={src}",
         f"++output_file={tmp_path / 'o.jsonl'}", f"++prompt_set_dir={reference_prompt_sets / 'nemo-skills' / PIN}"],
        capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "no 'problem' field" in res.stderr and "Traceback" not in res.stderr


def test_generation_type_plans_the_module(capsys, tmp_path, data_dir):
    src = write_jsonl(tmp_path / "in.jsonl", ROWS)
    rc = ns(["generate", "--cluster=local", "--server_type=openai", "--model=m", "--server_address=http://h:1/v1",
             f"--input_file={src}", f"--output_dir={tmp_path / 'out'}", "--generation_type=check_contamination",
             f"--data_dir={data_dir}", "++check_both_ways=True", "--dry_run", "--dry_run_format=json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    argv = json.loads(out)["jobs"][0]["programs"][0]
    assert argv[:3] == ["python", "-m", "skills.inference.check_contamination"] and "++check_both_ways=True" in argv
    rc = ns(["generate", "--cluster=local", "--server_type=openai", "--model=m", "--server_address=http://h:1/v1",
             f"--input_file={src}", f"--output_dir={tmp_path / 'out'}", "--generation_type=check_contamination",
             f"--data_dir={data_dir}", "++top_k=0", "--dry_run"])
    assert rc == 2 and "++top_k must be >= 1" in capsys.readouterr().err


class _Letters:
    """A stand-in sentence-transformers model: counts of the letters a-d (cosine similarity by hand)."""

    calls: list = []

    def __init__(self, name):
        self.name = name

    def encode(self, texts, batch_size, show_progress_bar):
        import numpy as np

        _Letters.calls.append((self.name, list(texts), batch_size))
        return np.array([[t.count(c) for c in "abcd"] for t in texts], dtype=float)


@pytest.fixture
def fake_st(monkeypatch):
    module = types.ModuleType("sentence_transformers")
    module.SentenceTransformer = _Letters
    monkeypatch.setitem(sys.modules, "sentence_transformers", module)
    _Letters.calls = []


def test_retrieve_similar(tmp_path, fake_st):
    train = write_jsonl(tmp_path / "train.jsonl", [{"problem": "a b"}, {"problem": "a c"}, {"problem": "a b"},
                                                   {"problem": "d"}])
    test1 = write_jsonl(tmp_path / "t1.jsonl", [{"problem": "a b"}])
    test2 = write_jsonl(tmp_path / "t2.jsonl", [{"problem": "d d"}, {"problem": "a b"}])
    out = tmp_path / "sub" / "retrieved.jsonl"
    rc = retrieve_similar.main([f"++retrieve_from={train}", f"++compare_to={test1},{test2}", f"++output_file={out}",
                                "++top_k=2", "++model=my-model", "++batch_size=7", "++chunk_size=1"])
    assert rc == 0
    # distinct values in the order first seen; vectors [a,b,c,d]: "a b"=[1,1,0,0] "a c"=[1,0,1,0] "d"=[0,0,0,1]
    assert _Letters.calls == [("my-model", ["a b", "a c", "d"], 7), ("my-model", ["a b", "d d"], 7)]
    rows = read_jsonl(out)
    assert [r["problem"] for r in rows] == ["a b", "d d"]
    # "a b": cos 1 with itself, 1/2 with "a c"; "d d"=[0,0,0,2]: 1 with "d", then 0 (first seen wins a tie)
    assert [r["similar_items"] for r in rows] == [["a b", "a c"], ["d", "a b"]]
    assert [[round(s, 6) for s in r["similarity_scores"]] for r in rows] == [[1.0, 0.5], [1.0, 0.0]]


def test_retrieve_similar_errors(tmp_path, capsys, monkeypatch):
    train = write_jsonl(tmp_path / "train.jsonl", [{"problem": "a b"}])
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # not installed
    base = [f"++retrieve_from={train}", f"++compare_to={train}", f"++output_file={tmp_path / 'o.jsonl'}"]
    assert retrieve_similar.main([*base, "++top_k=1"]) == 2
    assert "pip install sentence-transformers" in capsys.readouterr().err
    assert retrieve_similar.main([*base, "++top_k=2"]) == 2
    assert "more than the 1 distinct items" in capsys.readouterr().err
    assert retrieve_similar.main([*base[:1], f"++compare_to={tmp_path / 'missing.jsonl'}", base[2]]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"question": "q"}])
    assert retrieve_similar.main([f"++retrieve_from={bad}", *base[1:]]) == 2
    assert "bad.jsonl:1: no 'problem' value" in capsys.readouterr().err
