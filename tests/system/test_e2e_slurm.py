"""`ns eval` on a real single-node Slurm with the vLLM (CPU) server and the tiny model:
generation -> self-hosted LLM judge -> metrics job, ending in a correct metrics.json.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.files import read_jsonl
from tests.helpers.paths import FIXTURES
from tests.helpers.vllm import VLLM_CPU_ENV
from skills.cli.app import main

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
SERVER_ARGS = "--dtype float32 --max-model-len 2048 --enforce-eager"


def slurm_yaml(tmp_path, partition: str, monkeypatch, extra: str = ""):
    """A slurm cluster config in tmp_path whose nemo-run home (``job_dir``, ``$NEMORUN_HOME``) is there too."""
    home = tmp_path / "nemo_run"
    home.mkdir()
    monkeypatch.setenv("NEMORUN_HOME", str(home))
    cfg = tmp_path / "slurm.yaml"
    cfg.write_text(f"executor: slurm\naccount: test\npartition: {partition}\njob_dir: {home}\n{extra}")
    return cfg



def test_ns_eval_hle_with_judge_on_slurm(local_slurm, vllm_python, tiny_model, tmp_path, monkeypatch, capsys):
    from skills.config.cluster import get_cluster_config
    from skills.pipeline.executors import slurm as S

    monkeypatch.delenv("SKILLS_DATA_MIRROR", raising=False)
    env = "\n".join(f'      {k}: "{v}"' for k, v in VLLM_CPU_ENV.items())
    cfg = slurm_yaml(tmp_path, local_slurm, monkeypatch, f"servers:\n  vllm:\n    python: {vllm_python}\n    env:\n{env}\n")
    data = tmp_path / "data"
    assert main(["prepare_data", "hle", f"--data_dir={data}", f"--mirror={FIXTURES}"]) == 0
    out = tmp_path / "out"
    rc = main(["eval", f"--cluster={cfg}", f"--model={tiny_model}", "--server_type=vllm", "--server_gpus=1",
               f"--server_args={SERVER_ARGS}", "--benchmarks=hle:1", f"--data_dir={data}", f"--output_dir={out}",
               "--expname=slurm-hle", f"--judge_model={tiny_model}", "--judge_server_type=vllm",
               "--judge_server_gpus=1", f"--judge_server_args={SERVER_ARGS}",
               "--extra_judge_args=++inference.tokens_to_generate=48", "++inference.tokens_to_generate=32"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "slurm-hle" in printed and "slurm job" in printed  # experiment and job ids are shown

    cluster = get_cluster_config(str(cfg))
    assert S.wait_for("slurm-hle", cluster, poll_s=2, timeout_s=900) == 0, \
        "\n".join(p.read_text(errors="replace")[-2000:] for p in (out / "eval-logs").rglob("*.log"))
    rows = {r.job: r for r in S.status("slurm-hle", cluster)}
    assert {r.state for r in rows.values()} == {"done"} and len(rows) == 3  # generation, judge, metrics
    capsys.readouterr()
    assert main(["status", "slurm-hle", f"--cluster={cfg}"]) == 0  # what a user runs to see it
    shown = capsys.readouterr().out
    assert all(name in shown for name in rows) and shown.count("done") >= 3

    text_rows = len(read_jsonl(data / "hle" / "text.jsonl"))
    judged = read_jsonl(out / "eval-results" / "hle" / "output-rs0.jsonl")
    assert len(judged) == text_rows and all(isinstance(r["judgement"], str) for r in judged)
    metrics = json.loads((out / "eval-results" / "hle" / "metrics.json").read_text())
    first = metrics["hle"]["pass@1"]
    assert first["num_entries"] == text_rows
    from skills.evaluation.judge import is_correct_judgement

    expected = 100.0 * sum(is_correct_judgement(r["judgement"]) for r in judged) / text_rows
    assert first["judge_correct"] == pytest.approx(expected)


def test_prepare_data_on_slurm(local_slurm, tmp_path, monkeypatch, mirror_dir, capsys):
    """`ns prepare_data --cluster=<slurm>` runs the preparation as a job on the cluster."""
    from skills.config.cluster import get_cluster_config
    from skills.pipeline.executors import slurm as S

    cfg = slurm_yaml(tmp_path, local_slurm, monkeypatch)
    data = tmp_path / "data"
    argv = ["prepare_data", "aime24", "math-500", f"--cluster={cfg}", f"--data_dir={data}", f"--mirror={mirror_dir}"]
    assert main([*argv, "--dry_run"]) == 0 and "prepare_data aime24 math-500" in capsys.readouterr().out
    assert not data.exists()
    assert main(argv) == 0
    assert S.wait_for("prepare-data", get_cluster_config(str(cfg)), poll_s=1, timeout_s=300) == 0
    assert len(read_jsonl(data / "aime24" / "test.jsonl")) == 30
    assert len(read_jsonl(data / "math-500" / "test.jsonl")) == 500


def test_generate_and_run_cmd_on_slurm(local_slurm, tmp_path, monkeypatch, capsys):
    """`ns generate` (two seeds against an existing endpoint) and `ns run_cmd` submitted to Slurm."""
    from skills.config.cluster import get_cluster_config
    from skills.pipeline.executors import slurm as S
    from tests.helpers.stub_server import StubProcess

    cfg = slurm_yaml(tmp_path, local_slurm, monkeypatch)
    cluster = get_cluster_config(str(cfg))
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "question": f"q{i}"}) + "\n" for i in range(5)))
    out = tmp_path / "gen"
    with StubProcess(answer="echo {user}") as stub:
        assert main(["generate", f"--cluster={cfg}", "--server_type=openai", f"--server_address={stub.base_url}",
                     "--model=stub", f"--input_file={src}", f"--output_dir={out}", "--num_random_seeds=2",
                     "--expname=slurm-gen", "++prompt_config=generic/default"]) == 0
        assert S.wait_for("slurm-gen", cluster, poll_s=1, timeout_s=300) == 0
    for seed in (0, 1):
        rows = read_jsonl(out / f"output-rs{seed}.jsonl")
        assert [r["id"] for r in rows] == list(range(5)) and all(f"q{r['id']}" in r["generation"] for r in rows)
    assert main(["run_cmd", f"--cluster={cfg}", "--expname=slurm-cmd", f"--log_dir={tmp_path / 'logs'}",
                 f"echo hello from $SLURM_JOB_ID > {tmp_path / 'hello.txt'}"]) == 0
    assert S.wait_for("slurm-cmd", cluster, poll_s=1, timeout_s=300) == 0
    assert (tmp_path / "hello.txt").read_text().startswith("hello from ")


def test_generate_with_code_execution_on_slurm(local_slurm, tmp_path, monkeypatch):
    """`ns generate ++code_execution=True` submitted to Slurm: the sandbox sidecar is planned into
    the job (code execution asks for it), the model's code block runs there, its output goes back
    into the same generation. The model is a scripted endpoint (its two turns are known), so the
    generation text is known exactly; the tiny model on vLLM runs the same loop locally
    (tests/system/test_e2e_code_execution.py)."""
    from skills.config.cluster import get_cluster_config
    from skills.pipeline.executors import slurm as S
    from tests.helpers.stub_server import StubProcess

    cfg = slurm_yaml(tmp_path, local_slurm, monkeypatch)
    cluster = get_cluster_config(str(cfg))
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "question": f"What is 6 * {i}?"}) + "\n" for i in (7, 8)))
    tags = tmp_path / "tags.yaml"
    tags.write_text('code_begin: "<tool_call>"\ncode_end: "</tool_call>"\ncode_output_begin: "\\n```output\\n"\n'
                    'code_output_end: "```\\n"\ncode_output_format: qwen\n')
    script = tmp_path / "script.json"  # turn 0: a code block computing the product; turn 1: the answer
    turns = [{"turn": 0, "contains": f"6 * {i}", "answer": f"Compute.<tool_call>\nx = 6 * {i}\nx\n</tool_call>"}
             for i in (7, 8)]
    script.write_text(json.dumps(turns + [{"turn": 1, "answer": "Done."}]))
    out = tmp_path / "gen"
    with StubProcess(script=script) as stub:
        assert main(["generate", f"--cluster={cfg}", "--server_type=openai", f"--server_address={stub.base_url}",
                     "--model=stub", f"--input_file={src}", f"--output_dir={out}", "--expname=slurm-tir",
                     "++prompt_config=generic/default", "++code_execution=True", f"++code_tags={tags}",
                     "++inference.tokens_to_generate=200"]) == 0
        assert S.wait_for("slurm-tir", cluster, poll_s=1, timeout_s=300) == 0
    rows = read_jsonl(out / "output.jsonl")
    assert [r["id"] for r in rows] == [7, 8]
    for row in rows:  # chat: the assistant turns joined by a newline, the block's output after the first
        i = row["id"]
        first = f"Compute.<tool_call>\nx = 6 * {i}\nx\n</tool_call>\n```output\n{6 * i}\n```\n"
        assert row["generation"] == first + "\nDone."
        assert row["code_rounds_executed"] == 1 and row["num_code_timeouts"] == 0
    assert list((out / "generation-logs").rglob("*sandbox*")) or list(out.rglob("*sandbox*.log")), \
        "the sandbox sidecar left no log"
