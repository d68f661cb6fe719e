"""``ns eval --benchmarks=wmt24pp,answer-judge:2`` end to end on the tiny model (vLLM CPU, the
session's shared server): mirror-prepared WMT24++ rows (two pairs, a few rows each) and answer-judge
rows, the reference's prompts, then metrics.json and the tables: BLEU equals sacrebleu run directly
on the generations, answer-judge's numbers equal a recount of the verdicts."""

from __future__ import annotations

import json
import subprocess

import pytest

from skills.evaluation.judge import parse_judgement
from tests.benchmarks.answer_judge.test_answer_judge import ROWS
from tests.helpers.commands import ns
from tests.helpers.files import read_jsonl
from tests.helpers.prereqs import environment_or_missing

pytestmark = pytest.mark.slow
PER_PAIR = 3


def test_wmt24pp_and_answer_judge_on_the_tiny_model(vllm_server, mirror_dir, tmp_path):
    bleu_python = environment_or_missing("translation", "BLEU (sacrebleu[ja,ko])")
    data = tmp_path / "data"
    res = ns("prepare_data", "wmt24pp", f"--data_dir={data}", f"--mirror={mirror_dir}",
             "--target_languages=de_DE,ja_JP", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    split = data / "wmt24pp" / "test.jsonl"
    lines = split.read_text().splitlines(keepends=True)
    split.write_text("".join(lines[1:1 + PER_PAIR] + lines[999:999 + PER_PAIR]))  # no canary rows
    (data / "answer-judge").mkdir()
    (data / "answer-judge" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS * 2))
    out = tmp_path / "out"
    res = ns("eval", "--cluster=local", *vllm_server.address_args(), "--benchmarks=wmt24pp,answer-judge:2",
             f"--data_dir={data}", f"--output_dir={out}", "++inference.tokens_to_generate=12",
             "++inference.temperature=0.0", cwd=tmp_path, env={"SKILLS_PROMPT_SOURCE": ""})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]

    rows = read_jsonl(out / "eval-results" / "wmt24pp" / "output.jsonl")
    assert [r["target_language"] for r in rows] == ["de_DE"] * PER_PAIR + ["ja_JP"] * PER_PAIR
    assert all(isinstance(r["generation"], str) and r["prompt_source"].startswith("nemo-skills@") for r in rows)
    script = ("import json, sys\nfrom sacrebleu import corpus_bleu\nrows = json.load(sys.stdin)\nout = {}\n"
              "for lang, tok in (('de_DE', '13a'), ('ja_JP', 'ja-mecab')):\n"
              "    mine = [r for r in rows if r['target_language'] == lang]\n"
              "    out[lang] = corpus_bleu([r['generation'] for r in mine], [[r['translation'] for r in mine]],"
              " tokenize=tok).score\nprint(json.dumps(out))\n")
    direct = json.loads(subprocess.run([bleu_python, "-c", script], input=json.dumps(rows), capture_output=True,
                                       text=True, check=True).stdout)
    metrics = json.loads((out / "eval-results" / "wmt24pp" / "metrics.json").read_text())["wmt24pp"]
    assert metrics["en->de_DE"]["bleu"] == pytest.approx(direct["de_DE"])
    assert metrics["en->ja_JP"]["bleu"] == pytest.approx(direct["ja_JP"])
    assert metrics["xx->xx"]["bleu"] == pytest.approx((direct["de_DE"] + direct["ja_JP"]) / 2)
    assert "bleu" in res.stdout and "en->ja_JP" in res.stdout  # the metrics job's table, in the job's log

    judged = [read_jsonl(out / "eval-results" / "answer-judge" / f"output-rs{s}.jsonl") for s in (0, 1)]
    assert all(isinstance(r["judgement"], str) and "generation" not in r for f in judged for r in f)
    right = [[parse_judgement(r["judgement"]) == parse_judgement(r["expected_judgement"]) for r in f] for f in judged]
    aj = json.loads((out / "eval-results" / "answer-judge" / "metrics.json").read_text())["answer-judge"]
    entries = 2 * len(ROWS * 2)  # two seeds of 24 rows
    assert aj["pass@1[avg-of-2]"]["correct_judgements"] == pytest.approx(100 * sum(map(sum, right)) / entries)
    unreadable = sum(parse_judgement(r["judgement"]) is None for f in judged for r in f)
    assert aj["pass@1[avg-of-2]"]["invalid_judgements"] == pytest.approx(100 * unreadable / entries)
    summary = ns("summarize_results", str(out), cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    assert "evaluation_mode | bleu" in summary.stdout and "xx->ja_JP" in summary.stdout
    table = summary.stdout[summary.stdout.index(" answer-judge "):].splitlines()
    # gen_seconds: our rows carry generation times, as the reference's generation writes them
    assert [c.strip() for c in table[1].split("|")] == ["evaluation_mode", "num_entries", "avg_tokens", "gen_seconds",
                                                         "correct_judgements", "false_positives", "false_negatives",
                                                         "invalid_judgements", "precision", "recall", "f1"]
