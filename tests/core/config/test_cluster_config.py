"""Cluster configs: schema errors name file and key; lookup order; built-in local; secrets by name."""

from pathlib import Path

import pytest

from tests.helpers.paths import REPO_ROOT

from skills.config.cluster import get_cluster_config, load_cluster_config_file
from skills.config.errors import UsageError



def test_builtin_local_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SKILLS_CONFIG_DIR", raising=False)
    monkeypatch.delenv("NEMO_SKILLS_CONFIG_DIR", raising=False)
    cfg = get_cluster_config("local")
    assert cfg.executor == "local" and cfg.containers == {} and cfg.container("vllm") is None


def test_no_cluster_is_none_executor(monkeypatch):
    monkeypatch.delenv("SKILLS_CONFIG", raising=False)
    monkeypatch.delenv("NEMO_SKILLS_CONFIG", raising=False)
    assert get_cluster_config(None).executor == "none"


@pytest.mark.parametrize("name", ["example-local", "example-slurm", "cpu-local"])
def test_shipped_configs_load(name):
    cfg = get_cluster_config(name, str(REPO_ROOT / "cluster_configs"))
    assert cfg.name == name


def test_cpu_local_maps_vllm_to_repo_venv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative venv path must not depend on the working directory
    cfg = get_cluster_config("cpu-local", str(REPO_ROOT / "cluster_configs"))
    env = cfg.server_env("vllm")
    assert Path(env.venv) == REPO_ROOT / ".venv-vllm"
    assert env.interpreter() == str(REPO_ROOT / ".venv-vllm" / "bin" / "python")
    assert "VLLM_CPU_KVCACHE_SPACE" in env.env


def test_lookup_order_config_dir_then_env(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "c.yaml").write_text("executor: local\ndescription: from-a\n")
    (b / "c.yaml").write_text("executor: none\ndescription: from-b\n")
    monkeypatch.setenv("SKILLS_CONFIG_DIR", str(b))
    assert get_cluster_config("c").description == "from-b"
    assert get_cluster_config("c", str(a)).description == "from-a"
    monkeypatch.delenv("SKILLS_CONFIG_DIR")
    monkeypatch.setenv("NEMO_SKILLS_CONFIG_DIR", str(a))
    assert get_cluster_config("c").description == "from-a"


def test_cwd_cluster_configs_folder(tmp_path, monkeypatch):
    for env in ("SKILLS_CONFIG_DIR", "NEMO_SKILLS_CONFIG_DIR"):
        monkeypatch.delenv(env, raising=False)
    (tmp_path / "cluster_configs").mkdir()
    (tmp_path / "cluster_configs" / "mine.yaml").write_text("executor: none\n")
    monkeypatch.chdir(tmp_path)
    assert get_cluster_config("mine").executor == "none"


@pytest.mark.parametrize("text,needle", [
    ("executor: local\nparitition: x\n", "unknown key 'paritition'; did you mean partition"),
    ("executor: docker\n", "executor must be one of"),
    ("executor: local\nnum_workers: many\n", "num_workers: expected an integer"),
    ("executor: local\nservers:\n  vllm:\n    venvv: x\n", "unknown key 'venvv'"),
    ("executor: slurm\npartition: p\njob_dir: /j\n", "need 'account'"),
    ("executor: slurm\naccount: a\npartition: p\n", "ssh_tunnel"),
    ("executor: local\nmounts: [a\n", "invalid YAML"),
    ("- a\n- b\n", "must be a mapping"),
])
def test_errors_name_file_and_key(tmp_path, text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        load_cluster_config_file(path)
    assert str(path) in err.value.message and needle in err.value.message


def test_missing_cluster_lists_names(tmp_path):
    (tmp_path / "gpu-box.yaml").write_text("executor: local\n")
    with pytest.raises(UsageError, match="did you mean gpu-box"):
        get_cluster_config("gpu-bx", str(tmp_path))


def test_env_vars_by_name_never_by_value(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_SECRET", "s3cr3t")
    path = tmp_path / "c.yaml"
    path.write_text("executor: local\nenv_vars: [MY_SECRET, PLAIN=1]\nrequired_env_vars: [NEEDED]\n")
    cfg = load_cluster_config_file(path)
    literal, names = cfg.job_env()
    assert literal == {"PLAIN": "1"} and names == ["NEEDED", "MY_SECRET"]
    assert cfg.missing_required_env() == ["NEEDED"]
