"""answer-judge: rows read from the reference's prepare.py (fixtures; the staged file when present),
and the ``answer-judgement`` metric type against NeMo-Skills' own conformance outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from skills.config.errors import UsageError
from skills.data.prepare import prepare_benchmarks
from skills.metrics.summarize import summarize_results
from skills.registry.benchmarks import get_benchmark
from tests.helpers.prereqs import missing, not_staged

ROWS = [
    {"problem": "What is $1/2$ as a decimal?", "expected_answer": "0.5", "predicted_answer": "\\frac{1}{2}",
     "expected_judgement": "Judgement: Yes", "comment": "same value – other notation"},
    {"problem": """Two lines
and a brace }""", "expected_answer": "3", "predicted_answer": "4", "expected_judgement": "Judgement: No",
     "comment": "different"},
]


def test_spec():
    spec = get_benchmark("answer-judge")
    assert spec.default_overrides() == ("++prompt_config=judge/math", "++generation_key=judgement")
    assert (spec.metrics_type, spec.eval_split, spec.dataset_group, spec.judge) == \
        ("answer-judgement", "test", "math", None)


def test_rows_are_read_from_the_upstream_file_without_running_it(tmp_path):
    source = ("import os\nfrom pathlib import Path\n\ndata = " + repr(ROWS) + "\n\n"
              "if __name__ == '__main__':\n    os.system('touch should-not-exist')\n")
    (tmp_path / "m" / "answer-judge").mkdir(parents=True)
    (tmp_path / "m" / "answer-judge" / "prepare.py").write_text(source)
    (out,) = prepare_benchmarks(["answer-judge"], tmp_path / "d", tmp_path / "m")["answer-judge"]
    assert out.read_text() == "".join(json.dumps(r) + "\n" for r in ROWS)  # json.dumps defaults, in order
    assert "\\u2013" in out.read_text()  # ASCII-escaped as the reference writes it
    assert not (Path.cwd() / "should-not-exist").exists()
    (tmp_path / "m" / "answer-judge" / "prepare.py").write_text("data = [{'problem': 'p'}]\n")
    with pytest.raises(UsageError, match="entry 1 lacks one of problem, expected_answer"):
        prepare_benchmarks(["answer-judge"], tmp_path / "d", tmp_path / "m")
    (tmp_path / "m" / "answer-judge" / "prepare.py").write_text("data = load()\n")
    with pytest.raises(UsageError, match="`data` is not a plain literal"):
        prepare_benchmarks(["answer-judge"], tmp_path / "d", tmp_path / "m")


def test_the_staged_upstream_file_gives_12_rows(mirror_dir, tmp_path):
    upstream = mirror_dir / "answer-judge" / "prepare.py"
    if not upstream.is_file():
        not_staged(f"NeMo-Skills' nemo_skills/dataset/answer-judge/prepare.py at the pinned commit ({upstream}); the fixture tests "
                   "above cover the code")
    (out,) = prepare_benchmarks(["answer-judge"], tmp_path, mirror_dir)["answer-judge"]
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 12 and [r["expected_judgement"] for r in rows].count("Judgement: Yes") == 7
    assert all(list(r) == ["problem", "expected_answer", "predicted_answer", "expected_judgement", "comment"]
               for r in rows)


# -- metric type: NeMo-Skills' conformance outputs ---------------------------------------------------------------

@pytest.fixture(scope="module")
def conformance(shared_dir) -> Path:
    path = shared_dir / "conformance" / "nemo-skills-eval-outputs"
    if not path.is_dir():
        missing(f"no conformance data at {path}")
    return path


def _compare(got, exp, where=""):
    assert type(got) is type(exp), where
    if isinstance(exp, dict):
        assert list(got) == list(exp), f"{where}: keys {list(got)} != {list(exp)}"
        for key in exp:
            _compare(got[key], exp[key], f"{where}/{key}")
    elif isinstance(exp, float):
        assert got == pytest.approx(exp, abs=1e-6), where
    else:
        assert got == exp, where


@pytest.mark.parametrize("max_seq_len, table, expected", [(None, "summarize_results_output.txt", "metrics.json-test"),
                                                          (8192, "summarize_results_output-ms8192.txt",
                                                           "metrics-ms8192.json-test")])
def test_tables_and_metrics_equal_the_references(conformance, tmp_path, max_seq_len, table, expected):
    bench = tmp_path / "eval-results" / "answer-judge"
    bench.mkdir(parents=True)
    for f in (conformance / "eval-results" / "answer-judge").iterdir():
        shutil.copyfile(f, bench / f.name[: -len("-test")])
    text, path = summarize_results(str(tmp_path), max_seq_len=max_seq_len, save_metrics_path=str(tmp_path / "m.json"))
    def block(lines):
        start = next(i for i, ln in enumerate(lines) if ln.startswith("-") and " answer-judge " in ln)
        return lines[start:start + 5]

    # title, header, three rows, byte for byte
    assert block(text.splitlines()) == block((conformance / table).read_text().splitlines())
    _compare(json.loads(path.read_text())["answer-judge"],
             json.loads((conformance / "eval-results" / expected).read_text())["answer-judge"])


def test_dry_run_the_model_plays_the_judge(tmp_path, capsys):
    from tests.helpers.plans import command_text, dry_run_jobs, kinds

    (tmp_path / "answer-judge").mkdir()
    (tmp_path / "answer-judge" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    jobs = dry_run_jobs(capsys, tmp_path, tmp_path / "out", "answer-judge:4")
    assert kinds(jobs) == ["generation", "metrics"]  # no judge stage: the judgement IS the generation
    text = command_text(jobs[0])
    assert "++prompt_config=judge/math ++generation_key=judgement" in text
    assert f"{tmp_path}/out/eval-results/answer-judge/output-rs3.jsonl" in text
