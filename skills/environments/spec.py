"""The declarations: ``Environment`` (a virtualenv ``.venv-<name>``) and ``TestModel`` (a folder
``.cache/models/<name>`` built offline for the end-to-end tests).

Strings in ``args``, ``checks`` and ``before`` may use ``{root}`` (the checkout), ``{model_dir}``,
``{python:<environment>}`` (an environment's interpreter) and ``{orchestrator}`` (``.venv``'s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class Install:
    """One ``pip install`` into an environment."""

    packages: Tuple[str, ...]
    no_deps: bool = False  # --no-deps: the package's declared requirements are not wanted


@dataclass(frozen=True)
class Environment:
    """A named Python environment (``SKILLS_PYTHON_<NAME>`` / ``.venv-<name>``; see
    ``skills.config.interpreters``). Its stamp holds every install line and ``version``: changing
    either rebuilds it. Declaring one with the name of an existing environment adds its installs to
    that one (e.g. a family's packages in the sandbox's environment); an addition's ``build`` runs
    after the environment's own, and its ``stamp`` joins the environment's."""

    name: str
    about: str = ""  # shown when it is built: what it is for, how long it takes, its size
    installs: Tuple[Install, ...] = ()
    checks: Tuple[Tuple[str, ...], ...] = ()  # arguments of its python that must succeed (``-c import x``)
    version: int = 1
    fresh: bool = False  # built from scratch each time (an older build's packages must not linger)
    upgrade_pip: bool = True
    remove: Tuple[str, ...] = ()  # uninstalled after the installs (packages that break an import)
    skip_env: Optional[str] = None  # SKILLS_SKIP_<X>=1 skips it (and the test models that need it)
    path_env: Optional[str] = None  # a variable that puts it elsewhere than <root>/.venv-<name>
    build: Optional[str] = None  # "module:function(ctx)": steps of its own after the installs
    stamp: Optional[str] = None  # "module:function(ctx) -> str": the stamp, when it has inputs of its own
    order: int = 50  # build order (the core's vllm and sandbox first, families after)
    # additions' own ``build`` / ``stamp`` functions, in declaration order (filled when declarations
    # are merged: a family's source package installed into the sandbox's environment, say)
    additions: Tuple["Environment", ...] = ()


@dataclass(frozen=True)
class TestModel:
    """A model the end-to-end tests serve, built offline by ``script`` with ``needs[0]``'s python.

    Up to date when: ``inputs`` given, its ``.setup-stamp`` holds their digest; ``digest_args``
    given, the builder prints its own digest and its ``.done`` holds it; else ``.done`` exists."""

    __test__ = False  # not a pytest test class

    name: str  # folder under .cache/models
    about: str  # shown when it is built
    script: str  # repository path of the builder
    args: Tuple[str, ...] = ("--model-dir", "{model_dir}")
    needs: Tuple[str, ...] = ("vllm",)  # environments it needs; the first one runs the builder
    inputs: Tuple[str, ...] = ()  # repository paths (globs allowed) whose content is the stamp
    digest_args: Tuple[str, ...] = ()  # the builder's arguments that print its digest
    requires: Tuple[str, ...] = ()  # other files that must exist for it to count as present
    before: Tuple[Tuple[str, ...], ...] = ()  # commands run first (e.g. preparing the data it learns)
    env: Dict[str, str] = field(default_factory=lambda: {"OMP_NUM_THREADS": "1"})
    skip_env: Optional[str] = None
    order: int = 50
