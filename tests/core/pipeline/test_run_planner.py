"""One run planner: the command line's ``++`` tokens are parsed once per generation module, however
many benchmarks, seeds and judges a plan has (they used to be parsed four times per benchmark)."""

from __future__ import annotations

import json

import pytest

from skills.cli.app import main
from skills.config import overrides

pytestmark = pytest.mark.usefixtures("no_cluster_config_env")
TOKEN = "++inference.tokens_to_generate=77"


@pytest.fixture
def parsed(monkeypatch):
    """Every token the planners parse, in order."""
    seen = []
    real = overrides.normalize

    def counting(token, schema):
        seen.append(token)
        return real(token, schema)

    monkeypatch.setattr(overrides, "normalize", counting)
    return seen


def test_user_overrides_are_parsed_once(capsys, tmp_path, data_dir, parsed):
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:9/v1",
               "--model=m", f"--output_dir={tmp_path / 'out'}", f"--data_dir={data_dir}",
               "--benchmarks=mmlu-pro:4,math-500:4,aime24:4", TOKEN, "--dry_run", "--dry_run_format=json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    argvs = [a for j in json.loads(out)["jobs"] for a in j["programs"] if "skills.inference.generate" in a]
    assert len(argvs) == 12 and all(TOKEN in a for a in argvs)  # every run gets it ...
    # ... parsed once by the planner, and once more by the dry run's estimate (which reads the
    # printed plan: each distinct token once, not once per run)
    assert parsed.count(TOKEN) == 2


def test_generate_parses_them_once_too(capsys, tmp_path, parsed):
    src = tmp_path / "in.jsonl"
    src.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
    rc = main(["generate", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:9/v1",
               "--model=m", f"--output_dir={tmp_path / 'out'}", f"--input_file={src}", "--num_random_seeds=3",
               "++prompt_format=openai", TOKEN, "--dry_run", "--dry_run_format=json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert len(json.loads(out)["jobs"]) == 3
    assert parsed.count(TOKEN) == 2  # the planner, then the dry run's estimate (once, not per run)
