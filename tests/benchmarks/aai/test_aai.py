"""The ``aai`` group: expansion into the reference's members (splits, seeds, prompts, judges) in the
plan, and the index computed by its group score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skills.benchmarks.aai.score import ALL_SEEDS, SCORE
from skills.cli.app import main
from skills.config.errors import UsageError
from skills.metrics.groups import get_group_score
from skills.prompt_sets.fetch import fetch_prompt_set
from skills.registry.benchmarks import get_benchmark, group_members

SPLITS = {"mmlu-pro": "test", "hle": "text", "gpqa": "diamond", "aime25": "test", "scicode": "test_aai",
          "livecodebench": "test_v5_2407_2412", "ifbench": "test", "aalcr": "test"}
SEEDS = {"mmlu-pro": 0, "hle": 0, "gpqa": 0, "aime25": 10, "scicode": 3, "livecodebench": 3, "ifbench": 5, "aalcr": 4}
PROMPTS = {"mmlu-pro": "eval/aai/mcq-10choices", "hle": "generic/hle", "gpqa": "eval/aai/mcq-4choices",
           "aime25": "eval/aai/math", "scicode": "eval/scicode/default", "livecodebench": "eval/aai/livecodebench",
           "ifbench": "generic/default", "aalcr": "generic/default"}
GRADERS = {"mmlu-pro": "multichoice", "hle": "math", "gpqa": "multichoice", "aime25": "math", "scicode": "scicode",
           "livecodebench": "livecodebench", "ifbench": "ifbench", "aalcr": None}


def test_members_with_the_reference_settings():
    members = {m.name: m for m in group_members(get_benchmark("aai"))}
    assert list(members) == list(SPLITS)
    for name, spec in members.items():
        assert spec.group == "aai" and spec.eval_split == SPLITS[name] and spec.num_samples == SEEDS[name]
        assert spec.eval_type == GRADERS[name] and "++inference.temperature=0.0" in spec.generation_args
    assert members["hle"].judge.args == ("++prompt_config=judge/hle", "++generation_key=judgement")
    assert members["hle"].judge.model == "o3-mini-20250131" and members["aalcr"].judge.model == "gpt-4.1"
    assert "++generation_key=response" in members["ifbench"].generation_args


@pytest.fixture
def aai_data(tmp_path, mirror_dir) -> Path:
    data = tmp_path / "data"
    for name, split in SPLITS.items():
        (data / name).mkdir(parents=True)
        (data / name / f"{split}.jsonl").write_text('{"problem": "p", "question": "q", "prompt": "p"}\n')
    (data / "scicode" / "test_data.h5").write_bytes(b"")
    from skills.benchmarks.ifbench import NLTK_PROBES

    for probe in NLTK_PROBES:
        (data / "nltk_data" / probe).mkdir(parents=True)
    fetch_prompt_set(data, mirror=mirror_dir)
    return data


def test_dry_run_plans_every_member_with_its_judge(aai_data, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "not-a-key")
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
               "--model=m", "--benchmarks=aai", f"--data_dir={aai_data}", f"--output_dir={tmp_path / 'out'}",
               "--dry_run", "--dry_run_format=json"])
    assert rc == 0
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    out = tmp_path / "out"
    gen = " ".join(" ".join(c) if isinstance(c, list) else c for c in jobs[0]["commands"])
    for name, split in SPLITS.items():
        judged = name in ("hle", "aalcr")
        where = out / ("tmp-eval-results" if judged else "eval-results") / "aai" / name
        files = [f"{where}/output.jsonl"] if not SEEDS[name] else [f"{where}/output-rs{s}.jsonl" for s in
                                                                    range(SEEDS[name])]
        for f in files:
            assert f"++input_file={aai_data}/{name}/{split}.jsonl ++output_file={f} " in gen
        assert f"++output_file={where}/output-rs{SEEDS[name]}.jsonl" not in gen
        assert f"++prompt_config={PROMPTS[name]}" in gen
    kinds = {(j["kind"], j["name"]) for j in jobs}
    assert ("judge", "eval-hle-judge") in kinds and ("judge", "eval-aalcr-judge") in kinds
    judges = {j["name"]: " ".join(j["commands"]) for j in jobs if j["kind"] == "judge"}
    assert "++server.model=gpt-4.1" in judges["eval-aalcr-judge"] and "++prompt_config=judge/aalcr" in \
        judges["eval-aalcr-judge"] and judges["eval-aalcr-judge"].count("++input_file=") == 4
    assert "++server.model=o3-mini-20250131" in judges["eval-hle-judge"]
    assert "add_generation_stats" not in judges["eval-hle-judge"]  # the group's JUDGE_ARGS replace hle's
    (group,) = [j for j in jobs if j["kind"] == "group-metrics"]
    assert group["commands"][0].startswith("python -m skills.metrics.group_score --group aai --score_module aai ")
    assert all(f"{out}/eval-results/aai/{name}/metrics.json" in group["commands"][0] for name in SPLITS)
    assert len(group["dependencies"] if "dependencies" in group else group["deps"]) == len(SPLITS)


def _members() -> dict:
    return {
        "mmlu-pro": {"pass@1": {"symbolic_correct": 80.0}},
        "hle": {"pass@1": {"judge_correct": 10.0, "symbolic_correct": 1.0}},
        "gpqa": {"pass@1": {"symbolic_correct": 60.0}},
        "aime25": {"pass@1[avg-of-10]": {"symbolic_correct": 70.0}, "pass@10": {"symbolic_correct": 90.0}},
        "scicode": {"pass@1[avg-of-3]": {"subtask_accuracy": 30.0}},
        "livecodebench": {"pass@1[avg-of-3]": {"accuracy": 50.0}},
        "ifbench": {"pass@1[avg-of-5]": {"average_score": 40.0}},
        "aalcr": {"pass@1[avg-of-3]": {"judge_correct": 20.0}, "pass@1[avg-of-4]": {"judge_correct": 25.0}},
    }


def test_the_index_as_the_reference_defines_it():
    entry = get_group_score("aai").compute("aai", _members())
    assert list(entry) == ["overall_score", "math_score", "code_score", "mmlu_pro", "hle", "gpqa", "aime25", "scicode",
                           "livecodebench", "ifbench", "aalcr"]
    assert entry["overall_score"] == pytest.approx((80 + 10 + 60 + 70 + 30 + 50 + 40 + 20) / 8)
    assert (entry["math_score"], entry["code_score"], entry["aalcr"]) == (70.0, 40.0, 20.0)  # aalcr: first 3 seeds
    assert get_group_score("nemo_skills.dataset.aai.aai_score") is SCORE
    assert ALL_SEEDS.compute("aai", _members())["aalcr"] == 25.0  # the switch: all 4 seeds


def test_a_missing_member_or_mode_is_one_line():
    members = _members()
    members["aime25"] = {"pass@1[avg-of-2]": {"symbolic_correct": 70.0}}
    with pytest.raises(UsageError, match=r"aai: the index reads aime25 pass@1\[avg-of-10\] symbolic_correct"):
        SCORE.compute("aai", members)
    del members["aime25"]
    with pytest.raises(UsageError, match="no metrics of aime25"):
        SCORE.compute("aai", members)


def test_group_metrics_job_writes_the_reference_file(tmp_path, capsys):
    from skills.metrics.group_score import main as group_main

    paths = []
    for name, metrics in _members().items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps({name: metrics}))
        paths.append(str(tmp_path / name / "metrics.json"))
    assert group_main(["--group", "aai", "--save_metrics_path", str(tmp_path / "metrics.json"), *paths]) == 0
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["overall_score"] == pytest.approx(45.0) and set(saved) == set(SCORE.compute("aai", _members()))
    printed = capsys.readouterr().out
    assert "overall_score | 45.00%" in printed and printed.startswith("-")


def test_prepare_data_prepares_every_member(tmp_path, monkeypatch):
    from skills.benchmarks.aai import prepare as aai_prepare
    from skills.data.prepare import prepare_benchmarks

    seen = []

    def member_prepare(name):
        def fn(ctx):
            seen.append((name, ctx.split, ctx.extra))
            (tmp_path / name).write_text('{"problem": "p"}\n')
            return [tmp_path / name]
        return fn

    monkeypatch.setattr(aai_prepare, "prepare_function", member_prepare)
    written = prepare_benchmarks(["aai"], tmp_path, tmp_path)["aai"]
    assert [s[0] for s in seen] == list(SPLITS) and written == [tmp_path / n for n in SPLITS]
    assert all(split is None and extra == {} for _, split, extra in seen)
    with pytest.raises(UsageError, match="--split does not apply to a group"):
        prepare_benchmarks(["aai"], tmp_path, tmp_path, ["--split=test"])


def test_summarize_prints_the_index_of_an_aai_folder():
    from skills.metrics.summarize import _group_scores

    tables, entries = _group_scores({"aai": list(SPLITS)}, _members(), None, None)
    assert entries["aai"]["overall_score"] == pytest.approx(45.0)
    (lines,) = tables
    assert lines[0].strip("-").strip() == "aai" and [c.strip() for c in lines[1].split(" | ")] == ["score", "value"]
    assert [c.strip() for c in lines[2].split(" | ")] == ["overall_score", "45.00%"]
