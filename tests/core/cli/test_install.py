"""A non-editable ``pip install .`` into a clean venv still finds prompts/, configs/, cluster_configs/
and the report's assets."""

import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from tests.helpers.paths import REPO_ROOT



@pytest.mark.slow
def test_installed_copy_finds_resources(tmp_path):
    from tests.helpers.prereqs import missing

    src = tmp_path / "src"  # pip builds in-tree: build from a copy so the checkout stays clean
    shutil.copytree(REPO_ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv*", ".cache", "build", "dist", "*.egg-info", "__pycache__", "demo-output"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # isolated build (fetches setuptools/wheel); runtime dependencies are borrowed below
    res = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--quiet", str(src)],
                         capture_output=True, text=True, cwd=tmp_path)
    if res.returncode != 0 and any(w in res.stderr for w in ("Could not find a version", "NewConnectionError",
                                                               "No matching distribution")):
        missing("pip could not fetch the build backend (no package index reachable)")
    assert res.returncode == 0, res.stdout + res.stderr
    shutil.rmtree(src)  # the installed copy must not depend on the source tree
    # third-party dependencies (typer, yaml, ...) from the dev environment, AFTER the installed skills
    deps = sysconfig.get_paths()["purelib"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SKILLS_CONFIG_DIR")}
    probe = (
        "import sys; sys.path.append(sys.argv[1]); import skills, skills.resources as r; "
        "from skills.config.cluster import get_cluster_config; "
        "print(skills.__file__); print(r.prompts_dir()); print(r.configs_dir()); print(r.cluster_configs_dir()); "
        "print((r.prompts_dir() / 'generic' / 'math.yaml').is_file()); "
        "print((r.configs_dir() / 'generate.yaml').is_file()); "
        "print(get_cluster_config('cpu-local').executor); "
        "import importlib.resources as ir; a = ir.files('skills.report').joinpath('assets'); "
        "print(a.joinpath('report.js').is_file() and a.joinpath('report.css').is_file())"
    )
    res = subprocess.run([str(py), "-c", probe, deps], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    pkg, prompts, configs, clusters, has_prompt, has_config, executor, has_report_assets = res.stdout.split()
    site = str(venv)
    assert pkg.startswith(site) and prompts.startswith(site) and configs.startswith(site)
    assert clusters.startswith(site)
    assert has_prompt == "True" and has_config == "True" and executor == "local"
    assert has_report_assets == "True"  # the HTML report's own JS and CSS (setup.py package_data)
    ns = subprocess.run([str(py), "-c", "import sys; sys.path.append(sys.argv[1]); from skills.cli.app import main; "
                         "sys.exit(main(['--help']))", deps], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert ns.returncode == 0 and "eval" in ns.stdout, ns.stderr
