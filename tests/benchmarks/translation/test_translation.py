"""FLORES-200 and WMT24++: prepared rows (mirror / fixtures), the ``translation`` metric type's BLEU
against sacrebleu run directly, its table, and the plans."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

from skills.config.errors import UsageError
from skills.data.prepare import prepare_benchmarks
from skills.metrics.summarize import summarize_results
from skills.registry.benchmarks import get_benchmark
from tests.helpers.prereqs import environment_or_missing

# English names written independently of langcodes (what the reference's display_name() gives)
NAMES = {"en": "English", "de": "German", "es": "Spanish", "fr": "French", "it": "Italian", "ja": "Japanese"}
WMT_TARGETS = ["de_DE", "es_MX", "fr_FR", "it_IT", "ja_JP"]


@pytest.fixture(scope="module")
def bleu_python() -> str:
    return environment_or_missing("translation", "BLEU (sacrebleu[ja,ko])")


def _jsonl(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- specs -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, split", [("wmt24pp", "test"), ("flores200", "devtest")])
def test_specs_carry_the_reference_defaults(name, split):
    spec = get_benchmark(name)
    assert spec.default_overrides() == ("++prompt_config=multilingual/segment-translation",)
    assert (spec.metrics_type, spec.eval_split, spec.dataset_group, spec.judge) == ("translation", split, "chat", None)


# -- WMT24++ from the mirror ------------------------------------------------------------------------------

def test_wmt24pp_from_the_mirror_as_the_reference_writes_it(mirror_dir, tmp_path):
    (out,) = prepare_benchmarks(["wmt24pp"], tmp_path, mirror_dir)["wmt24pp"]
    assert out == tmp_path / "wmt24pp" / "test.jsonl"
    expected = []
    for lang in WMT_TARGETS:
        for line in (mirror_dir / "wmt24pp" / f"en-{lang}.jsonl").read_text(encoding="utf-8").splitlines():
            up = json.loads(line)
            expected.append({"text": up["source"], "translation": up["target"], "source_language": "en",
                             "target_language": lang, "source_lang_name": "English",
                             "target_lang_name": NAMES[lang[:2]]})
    assert len(expected) == 5 * 998
    # json.dump defaults as the reference: ASCII-escaped, ", " and ": " separators, this key order
    assert out.read_text(encoding="utf-8") == "".join(json.dumps(r) + "\n" for r in expected)


def test_wmt24pp_other_languages_and_bad_options(mirror_dir, tmp_path):
    (out,) = prepare_benchmarks(["wmt24pp"], tmp_path, mirror_dir, ["--target_languages=ja_JP,de_DE"])["wmt24pp"]
    rows = _jsonl(out)
    assert [r["target_language"] for r in rows[::998]] == ["ja_JP", "de_DE"] and len(rows) == 2 * 998
    with pytest.raises(UsageError, match="missing mirror file .*en-ko_KR.jsonl"):
        prepare_benchmarks(["wmt24pp"], tmp_path, mirror_dir, ["--target_languages=ko_KR"])
    with pytest.raises(UsageError, match="unknown prepare_data option --langs"):
        prepare_benchmarks(["wmt24pp"], tmp_path, mirror_dir, ["--langs=de_DE"])


# -- FLORES-200 from fixtures in the upstream layout ----------------------------------------------------------

FLORES_CONFIGS = {"en": "eng_Latn", "de": "deu_Latn", "es": "spa_Latn", "fr": "fra_Latn", "it": "ita_Latn",
                  "ja": "jpn_Jpan"}


def _flores_mirror(root: Path, split: str = "devtest", n: int = 3) -> Dict[str, List[str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = {}
    for lang, config in FLORES_CONFIGS.items():
        texts[lang] = [f"{lang} sentence {i} ü" for i in range(n)]
        table = pa.table({"id": list(range(n)), "iso_639_3": [config[:3]] * n, "iso_15924": [config[4:]] * n,
                          "text": texts[lang], "domain": ["wikinews"] * n})
        (root / "flores200" / split).mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / "flores200" / split / f"{config}.parquet")
    return texts


def test_flores200_pairs_from_upstream_layout_fixtures(tmp_path):
    texts = _flores_mirror(tmp_path / "mirror")
    (out,) = prepare_benchmarks(["flores200"], tmp_path / "data", tmp_path / "mirror")["flores200"]
    assert out.name == "devtest.jsonl"
    expected = [{"text": a, "translation": b, "source_language": s, "target_language": t,
                 "source_lang_name": NAMES[s], "target_lang_name": NAMES[t]}
                for s in NAMES for t in NAMES if s != t for a, b in zip(texts[s], texts[t])]
    assert len(expected) == 30 * 3
    assert out.read_text(encoding="utf-8") == "".join(json.dumps(r) + "\n" for r in expected)


def test_flores200_subsets_and_dev_split(tmp_path):
    _flores_mirror(tmp_path / "mirror", "dev", 2)
    (out,) = prepare_benchmarks(["flores200"], tmp_path / "data", tmp_path / "mirror",
                                ["--split=dev", "--source_languages=en", "--target_languages", "de,ja"])["flores200"]
    rows = _jsonl(out)
    assert out.name == "dev.jsonl" and [(r["source_language"], r["target_language"]) for r in rows] == \
        [("en", "de"), ("en", "de"), ("en", "ja"), ("en", "ja")]
    with pytest.raises(UsageError, match="unknown split 'test'"):
        prepare_benchmarks(["flores200"], tmp_path / "data", tmp_path / "mirror", ["--split=test"])


# -- BLEU: the metric type against sacrebleu itself ------------------------------------------------------------

def _crafted(ref: str, i: int) -> str:
    """A hypothesis that shares part of the reference: some lines exact, some cut, some reordered."""
    if i % 3 == 0:
        return ref
    if i % 3 == 1:
        return ref[: max(1, len(ref) * 2 // 3)]
    return " ".join(reversed(ref.split(" "))) if " " in ref else ref[::-1]


def _direct_bleu(python: str, corpora: Dict[str, tuple]) -> Dict[str, float]:
    """sacrebleu.corpus_bleu run directly in the translation environment (the reference's call)."""
    script = ("import json, sys\nfrom sacrebleu import corpus_bleu\n"
              "data = json.load(sys.stdin)\n"
              "print(json.dumps({k: corpus_bleu(h, [r], tokenize=t).score for k, (h, r, t) in data.items()}))\n")
    res = subprocess.run([python, "-c", script], input=json.dumps(corpora), capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def _results(tmp_path: Path, rows_per_seed: List[List[dict]]) -> Path:
    bench = tmp_path / "eval-results" / "wmt24pp"
    bench.mkdir(parents=True)
    for seed, rows in enumerate(rows_per_seed):
        (bench / f"output-rs{seed}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_bleu_equals_sacrebleu_with_the_reference_tokenizers(mirror_dir, tmp_path, bleu_python):
    rows = []
    for lang in WMT_TARGETS + ["ko_KR", "zh_CN"]:
        src = lang if lang in WMT_TARGETS else "ja_JP"  # staged references; ko/zh only exercise their tokenizers
        lines = (mirror_dir / "wmt24pp" / f"en-{src}.jsonl").read_text(encoding="utf-8").splitlines()[1:41]
        for i, line in enumerate(lines):
            ref = json.loads(line)["target"]
            rows.append({"source_language": "en", "target_language": lang, "translation": ref,
                         "generation": _crafted(ref, i)})
    seed1 = [{**r, "generation": r["translation"] if i % 2 else ""} for i, r in enumerate(rows)]
    text, path = summarize_results(str(_results(tmp_path, [rows, seed1])))
    got = json.loads(path.read_text())["wmt24pp"]
    tok = {"ja_JP": "ja-mecab", "ko_KR": "ko-mecab", "zh_CN": "zh"}
    corpora = {}
    for lang in WMT_TARGETS + ["ko_KR", "zh_CN"]:
        mine = [r for r in rows if r["target_language"] == lang]
        other = [r for r in seed1 if r["target_language"] == lang]
        hyps, refs = [], []
        for a, b in zip(mine, other):  # problem by problem, seed by seed: the reference's corpus order
            hyps += [a["generation"], b["generation"]]
            refs += [a["translation"], b["translation"]]
        corpora[f"en->{lang}"] = (hyps, refs, tok.get(lang, "13a"))
    direct = _direct_bleu(bleu_python, corpora)
    pairs = list(corpora)
    assert list(got)[: len(pairs)] == pairs
    for key in pairs:
        assert got[key] == {"bleu": pytest.approx(direct[key], abs=1e-9)}
    assert 0 < direct["en->ja_JP"] < 100 and direct["en->ja_JP"] != direct["en->de_DE"]
    mean = sum(direct.values()) / len(direct)
    expected_order = pairs + ["xx->xx", "en->xx"] + [f"xx->{lang}" for lang in WMT_TARGETS + ["ko_KR", "zh_CN"]]
    assert sorted(got) == sorted(expected_order)
    assert list(got) == pairs + ["xx->xx", "en->xx", "xx->de_DE"] + [f"xx->{lang}" for lang in
                                                                     WMT_TARGETS[1:] + ["ko_KR", "zh_CN"]]
    assert got["xx->xx"]["bleu"] == pytest.approx(mean) and got["en->xx"]["bleu"] == pytest.approx(mean)
    assert got["xx->ja_JP"]["bleu"] == pytest.approx(direct["en->ja_JP"])
    lines = text.splitlines()
    assert lines[1].split(" | ")[0].strip() == "evaluation_mode" and lines[1].split(" | ")[1].strip() == "bleu"
    assert lines[2].split(" | ") == ["en->de_DE".ljust(len("evaluation_mode")), f"{direct['en->de_DE']:.2f}"]


def test_table_layout_matches_the_reference(tmp_path, bleu_python):
    rows = [{"source_language": s, "target_language": t, "translation": "the cat sat on the mat",
             "generation": g} for s, t, g in [("en", "de", "the cat sat on the mat"), ("de", "en", "the cat"),
                                              ("en", "de", "a dog sat on the mat"), ("de", "en", "the cat sat")]]
    text, _ = summarize_results(str(_results(tmp_path, [rows])))
    lines = text.split("\n")
    cells = [ln.split(" | ")[1] for ln in lines[2:8]]
    width = max(len("bleu"), *(len(c.strip()) for c in cells))
    assert lines[1] == "evaluation_mode | " + "bleu".ljust(width)  # cells left-justified, trailing spaces kept
    assert all(c == f"{float(c):.2f}".ljust(width) for c in cells)
    assert [ln.split(" | ")[0].strip() for ln in lines[2:8]] == ["en->de", "de->en", "xx->xx", "en->xx", "xx->de",
                                                                  "de->xx"]
    assert lines[0] == " wmt24pp ".center(len(lines[1]), "-")


def test_a_row_without_its_language_pair_is_one_line(tmp_path):
    with pytest.raises(UsageError, match="lacks the field 'target_language'"):
        summarize_results(str(_results(tmp_path, [[{"source_language": "en", "generation": "x",
                                                     "translation": "y"}]])))


# -- plans ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, split", [("wmt24pp", "test"), ("flores200", "devtest")])
def test_dry_run_plans_generation_and_bleu(name, split, tmp_path, capsys):
    from tests.helpers.plans import command_text, dry_run_jobs, kinds

    (tmp_path / name).mkdir()
    (tmp_path / name / f"{split}.jsonl").write_text(json.dumps(
        {"text": "Hello", "translation": "Hallo", "source_language": "en", "target_language": "de",
         "source_lang_name": "English", "target_lang_name": "German"}) + "\n")
    jobs = dry_run_jobs(capsys, tmp_path, tmp_path / "out", f"{name}:2")
    assert kinds(jobs) == ["generation", "metrics"]  # no grader, no judge: BLEU is computed by the metrics job
    text = command_text(jobs[0])
    for token in ("++prompt_config=multilingual/segment-translation", f"++input_file={tmp_path}/{name}/{split}.jsonl",
                  f"++output_file={tmp_path}/out/eval-results/{name}/output-rs1.jsonl"):
        assert token in text
    assert "++eval_type" not in text


def test_reports_say_bleu_has_no_per_row_correctness():
    from skills.report.scores import extractor_for, score_row

    ex = extractor_for("translation")
    with pytest.raises(UsageError, match="no per-row correctness"):
        score_row(ex, {"generation": "a", "translation": "b"}, "f:1")


def test_bleu_without_its_environment_is_one_line(monkeypatch):
    from skills.metrics import bleu

    monkeypatch.setattr(bleu, "_importable", lambda tokenizers: False)
    monkeypatch.delenv("SKILLS_PYTHON_TRANSLATION", raising=False)
    monkeypatch.setattr("skills.config.interpreters.repo_venv", lambda name: Path("/nonexistent/.venv-x"))
    with pytest.raises(UsageError, match="the environment 'translation' is not set up .*SKILLS_PYTHON_TRANSLATION"):
        bleu.corpus_bleu_scores([(["a"], ["a"], "ja-mecab")])
    assert bleu.tokenizer_for("ja_JP") == "ja-mecab" and bleu.tokenizer_for("zh") == "zh" and \
        bleu.tokenizer_for("ko_KR") == "ko-mecab" and bleu.tokenizer_for("de_DE") == "13a"
