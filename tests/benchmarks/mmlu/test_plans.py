"""``ns eval --dry_run`` plans of the MMLU family: each benchmark's prompt, grader and split, as the
reference's ``GENERATION_ARGS`` / ``EVAL_SPLIT`` name them, on the reference's prompt set."""

from __future__ import annotations

import json

import pytest

PLANS = {  # benchmark -> (default split file, prompt config)
    "mmlu": ("test", "eval/aai/mcq-4choices-boxed"),
    "mmlu-redux": ("test", "generic/general-boxed"),
    "supergpqa": ("test", "eval/aai/mcq-10choices"),
    "mmlu-prox": ("test", "generic/default"),
}


@pytest.fixture
def data(tmp_path, reference_prompt_sets, monkeypatch):
    monkeypatch.delenv("SKILLS_PROMPT_SOURCE", raising=False)  # the reference's wording, nothing of ours
    root = tmp_path / "data"
    for bench, (split, _) in PLANS.items():
        (root / bench).mkdir(parents=True)
        (root / bench / f"{split}.jsonl").write_text('{"problem": "p", "question": "q", "expected_answer": "A"}\n')
    (root / ".prompt-sets").symlink_to(reference_prompt_sets)
    return root


def test_plans(data, tmp_path, capsys, no_cluster_config_env):
    from skills.cli.app import main

    argv = ["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
            "--model=m", f"--benchmarks={','.join(b + ':2' for b in PLANS)}", f"--data_dir={data}",
            f"--output_dir={tmp_path / 'out'}", "--dry_run", "--dry_run_format=json"]
    assert main(argv) == 0
    plan = json.loads(capsys.readouterr().out)
    programs = [p for j in plan["jobs"] if j["kind"] == "generation" for p in j["programs"]]
    assert not [j for j in plan["jobs"] if j["kind"] == "judge"]
    for bench, (split, prompt) in PLANS.items():
        mine = [p for p in programs if f"++input_file={data / bench / split}.jsonl" in p]
        assert [next(a for a in p if a.startswith("++output_file=")) for p in mine] == [
            f"++output_file={tmp_path / 'out' / 'eval-results' / bench}/output-rs{s}.jsonl" for s in (0, 1)]
        for p in mine:
            assert p[:3] == ["python", "-m", "skills.inference.generate"]
            assert f"++prompt_config={prompt}" in p and "++eval_type=multichoice" in p
    metrics = [j for j in plan["jobs"] if j["kind"] == "metrics"]
    assert len(metrics) == len(PLANS)
