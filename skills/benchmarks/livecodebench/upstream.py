"""Texts and code that come from LiveCodeBench's own package, ``nvidia-livecodebench`` (PyPI).

The package ships the test harness (``livecodebench/evaluation/testing_util.py``) and the two
formatting sentences the reference puts into every question. Neither is copied here: the harness
is loaded inside the sandbox, the sentences are read from the package's source as data (``ast``,
nothing imported; importing it would pull its LLM-client dependencies). Both are checked against
the version the reference's numbers were produced with.

Install it without its dependencies (they are LLM clients we do not need):
``pip install --no-deps nvidia-livecodebench==26.3 numpy``; ``scripts/setup.sh`` does this in
``.venv-sandbox``, the interpreter sandboxed programs run with.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import subprocess
from pathlib import Path
from typing import Dict, Optional

from skills.config.errors import UsageError
from skills.data.upstream import Upstream

PACKAGE = "nvidia-livecodebench==26.3"
INSTALL_HINT = (f"pip install --no-deps {PACKAGE} numpy (scripts/setup.sh installs it in .venv-sandbox; "
                "$SKILLS_SANDBOX_PYTHON picks another interpreter)")
# testing_util.py is byte-identical in nvidia-livecodebench 25.8 .. 26.3 and equal, function by
# function, to the fork NeMo-Skills installs (wasiahmad/livecodebench, branch livecodebench).
HARNESS_SHA256 = "cebe038290966d7f74392086efc034f952a40bd1632ad8b335f2b0590c95e36a"
# sha256 of the two sentences (PromptConstants in livecodebench/prompts/code_generation.py), as the
# reference's prepare writes them.
SENTENCE_SHA256 = {
    "FORMATTING_MESSAGE_WITH_STARTER_CODE": "0aa7131f428c2376cad7eeed10887dccaefc07c7947e20de1e9bf85598690bd5",
    "FORMATTING_WITHOUT_STARTER_CODE": "b72556f2e5865749958756f20ee8e031cc9d9b4b29f8557ffa4f1eb0deb41bd5",
}


# C++ (livecodebench-cpp): the reference pip-installs the fork's branch ``livecodebench`` (unpinned);
# this is its head before the reference's date. Only its harness module is used, loaded by path
# inside the sandbox (``run_test_cpp``: g++ compile, the stdin or call-based tests).
FORK = Upstream("livecodebench-fork", "wasiahmad/livecodebench", "5927b61d095f10b2fa475391999ba6ed6da767cd",
                "SKILLS_LCB_FORK_COMMIT", "SKILLS_LCB_FORK_URL", "livecodebench-fork-upstream",
                ("livecodebench/evaluation/testing_util.py", "LICENSE"))
FORK_HARNESS = "src/livecodebench-fork/livecodebench/evaluation/testing_util.py"  # under the sandbox env's prefix
FORK_HARNESS_SHA256 = "6da1b63e484abf40c452453bfae19ee67708d00950e2b4f48d011669e4ab5e21"
FORK_HINT = (f"the C++ harness ({FORK.repo}@{FORK.commit[:7]}) is fetched into the sandbox's environment by "
             "`python -m skills.environments build sandbox` from <mirror>/livecodebench-fork-upstream/ or GitHub")


def sandbox_python() -> Optional[str]:
    """Interpreter the local sandbox runs programs with (see ``skills.sandbox.executor.default_python``)."""
    from skills.sandbox.executor import default_python

    return default_python()


def package_dir(python: Optional[str] = None) -> Optional[Path]:
    """Folder of the installed ``livecodebench`` package, in this interpreter or in ``python``."""
    if python is None:
        spec = importlib.util.find_spec("livecodebench")
        locations = list(spec.submodule_search_locations or []) if spec else []
        return Path(locations[0]) if locations else None
    probe = ("import importlib.util as u; s = u.find_spec('livecodebench'); "
             "print(list(s.submodule_search_locations)[0] if s else '')")
    try:
        res = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = res.stdout.strip()
    return Path(path) if res.returncode == 0 and path else None


def _sentences(source: str) -> Dict[str, str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == "PromptConstants":
            return {a.targets[0].id: a.value.value for a in node.body
                    if isinstance(a, ast.Assign) and len(a.targets) == 1 and isinstance(a.targets[0], ast.Name)
                    and isinstance(a.value, ast.Constant) and isinstance(a.value.value, str)}
    return {}


def formatting_sentences() -> Dict[str, str]:
    """The two sentences of the reference's questions, from the installed package (this
    interpreter first, then the sandbox's)."""
    tried = []
    for python in (None, sandbox_python()):
        folder = package_dir(python)
        if folder is None:
            tried.append(python or "this interpreter")
            continue
        path = folder / "prompts" / "code_generation.py"
        found = _sentences(path.read_text(encoding="utf-8")) if path.is_file() else {}
        out = {k: found.get(k, "") for k in SENTENCE_SHA256}
        bad = [k for k, v in out.items() if hashlib.sha256(v.encode()).hexdigest() != SENTENCE_SHA256[k]]
        if bad:
            raise UsageError(f"livecodebench: {path}: {', '.join(bad)} differ from the reference's text; "
                             f"install {PACKAGE}")
        return out
    raise UsageError(f"livecodebench: the question text needs the package {PACKAGE}, not found in "
                     f"{' or '.join(tried)}: {INSTALL_HINT}")
