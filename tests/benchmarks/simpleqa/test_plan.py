"""``ns eval --benchmarks=simpleqa --dry_run``: the generation on ``generic/default``, then the
reference's judge stage (``judge/simpleqa`` into ``judgement``, o3-mini on OpenAI by default or any
judge the options name), then metrics."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def data(tmp_path, reference_prompt_sets, monkeypatch):
    monkeypatch.delenv("SKILLS_PROMPT_SOURCE", raising=False)  # the reference's wording, nothing of ours
    root = tmp_path / "data"
    (root / "simpleqa").mkdir(parents=True)
    for split in ("verified", "test"):
        (root / "simpleqa" / f"{split}.jsonl").write_text('{"id": 1, "question": "q", "expected_answer": "a"}\n')
    (root / ".prompt-sets").symlink_to(reference_prompt_sets)
    return root


def plan(data, tmp_path, capsys, *extra):
    from skills.cli.app import main

    argv = ["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
            "--model=m", "--benchmarks=simpleqa:2", f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}",
            "--dry_run", "--dry_run_format=json", *extra]
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, (json.loads(captured.out) if rc == 0 else captured.err)


def test_default_judge(data, tmp_path, capsys, monkeypatch, no_cluster_config_env):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    rc, p = plan(data, tmp_path, capsys)
    assert rc == 0
    gen, judge, metrics = ([j for j in p["jobs"] if j["kind"] == kind] for kind in ("generation", "judge", "metrics"))
    out = tmp_path / "out"
    for seed, argv in enumerate(gen[0]["programs"]):
        assert f"++input_file={data / 'simpleqa' / 'verified.jsonl'}" in argv  # verified is the default split
        assert "++prompt_config=generic/default" in argv and "++eval_type=math" in argv
        assert f"++output_file={out / 'tmp-eval-results' / 'simpleqa'}/output-rs{seed}.jsonl" in argv
    for seed, argv in enumerate(judge[0]["programs"]):
        assert f"++input_file={out / 'tmp-eval-results' / 'simpleqa'}/output-rs{seed}.jsonl" in argv
        assert f"++output_file={out / 'eval-results' / 'simpleqa'}/output-rs{seed}.jsonl" in argv
        for arg in ("++prompt_config=judge/simpleqa", "++generation_key=judgement", "++add_generation_stats=False",
                    "++server.server_type=openai", "++server.base_url=https://api.openai.com/v1",
                    "++server.model=o3-mini-20250131", "++server.api_key_env_var=OPENAI_API_KEY"):
            assert arg in argv
    assert "sk-test-not-a-key" not in json.dumps(p)
    assert len(metrics) == 1


def test_self_hosted_judge_and_test_split(data, tmp_path, capsys, monkeypatch, no_cluster_config_env):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    rc, p = plan(data, tmp_path, capsys, "--split=test", "--judge_server_type=vllm",
                 "--judge_server_address=http://127.0.0.1:2/v1", "--judge_model=/models/judge")
    assert rc == 0
    (gen,) = [j for j in p["jobs"] if j["kind"] == "generation"]
    assert all(f"++input_file={data / 'simpleqa' / 'test.jsonl'}" in a for a in gen["programs"])
    (judge,) = [j for j in p["jobs"] if j["kind"] == "judge"]
    for argv in judge["programs"]:
        assert "++server.server_type=vllm" in argv and "++server.base_url=http://127.0.0.1:2/v1" in argv
        assert "++server.model=/models/judge" in argv and "++prompt_config=judge/simpleqa" in argv
