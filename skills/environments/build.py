"""The generic builder of declared environments and test models (``python -m skills.environments``).

``declarations()`` collects the core's and the families' (``EXTENSIONS["environment"]`` /
``["test_model"]``), merging additions to one environment into it, in build order. ``build`` makes
one: an environment is a virtualenv with its installs, checks and a stamp (a re-run with an
unchanged stamp does nothing); a test model runs its builder script with the interpreter of the
first environment it needs. ``SKILLS_SKIP_<X>=1`` skips what declares that knob and the test models
needing it. Log lines look like ``scripts/setup.sh``'s own.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from skills.config.errors import UsageError
from skills.config.interpreters import PACKAGE_ROOT
from skills.environments.spec import Environment, Install, TestModel

STAMP = ".skills-setup-stamp"  # in an environment's folder
MODEL_STAMP = ".setup-stamp"  # in a test model's folder
PIP_NOISE = ("is ignored: it is neither a file nor a directory",)  # some machines' pip.conf, per package

Declaration = Union[Environment, TestModel]


_LOCAL = threading.local()  # the name a parallel build's output lines are prefixed with
_PRINT = threading.Lock()


def _emit(line: str, stream=None) -> None:
    label = getattr(_LOCAL, "label", None)
    with _PRINT:
        out = stream or sys.stdout
        out.write(f"[{label}] {line}" if label else line)
        out.flush()


def log(message: str) -> None:
    _emit(f"[setup {time.strftime('%H:%M:%S')}] {message}\n")


# ----------------------------------------------------------------------------- declarations
def _coalesce(installs: Sequence[Install]) -> Tuple[Install, ...]:
    """Consecutive installs of the same kind as one (one pip call, one part of the stamp)."""
    out: List[Install] = []
    for inst in installs:
        if out and out[-1].no_deps == inst.no_deps:
            out[-1] = Install(out[-1].packages + inst.packages, inst.no_deps)
        else:
            out.append(inst)
    return tuple(out)


def _load(kind: str, cls: type, core: Sequence) -> list:
    from skills.registry import declared_extensions, import_path

    items = [*core, *(import_path(t, kind.replace("_", " ")) for t in declared_extensions().get(kind, {}).values())]
    for item in items:
        if not isinstance(item, cls):
            raise UsageError(f"{kind.replace('_', ' ')} declaration {item!r} is not a {cls.__name__}")
    return items


def declarations() -> Tuple[List[Environment], List[TestModel]]:
    """Every environment and test model, in build order. The first declaration of an environment
    name is the environment; later ones add their installs and checks to it."""
    from skills.environments import core

    by_name: Dict[str, List[Environment]] = {}
    for env in _load("environment", Environment, core.ENVIRONMENTS):
        by_name.setdefault(env.name, []).append(env)
    envs = [dataclasses.replace(base, installs=base.installs + _coalesce([i for a in extra for i in a.installs]),
                                checks=base.checks + tuple(c for a in extra for c in a.checks),
                                additions=tuple(a for a in extra if a.build or a.stamp))
            for base, *extra in by_name.values()]
    models: Dict[str, TestModel] = {}
    for model in _load("test_model", TestModel, core.TEST_MODELS):
        if model.name in models:
            raise UsageError(f"test model '{model.name}' is declared twice")
        models[model.name] = model
    return sorted(envs, key=lambda e: e.order), sorted(models.values(), key=lambda m: m.order)


def find(name: str) -> Declaration:
    envs, models = declarations()
    for item in [*envs, *models]:
        if item.name == name:
            return item
    known = ", ".join(i.name for i in [*envs, *models])
    raise UsageError(f"nothing named '{name}' is declared (known: {known})")


# ----------------------------------------------------------------------------- building
@dataclass
class BuildContext:
    """What a declaration's own ``build`` / ``stamp`` functions get."""

    root: Path
    venv: Path
    mirror: Optional[str]  # the data mirror ($SKILLS_DATA_MIRROR, else <shared>/datasets), if any

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def run(self, argv: Sequence[str], env: Optional[Mapping[str, str]] = None) -> None:
        """Run a command in the checkout; pip's per-package pip.conf noise is dropped from its stderr."""
        full = {**os.environ, **(env or {})}
        parallel = getattr(_LOCAL, "label", None) is not None  # lines prefixed, stdout and stderr as one
        out = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT} if parallel else {"stderr": subprocess.PIPE}
        proc = subprocess.Popen(list(argv), cwd=self.root, env=full, text=True, **out)  # type: ignore[call-overload]
        stream = proc.stdout if parallel else proc.stderr
        assert stream is not None
        for line in stream:
            if not any(noise in line for noise in PIP_NOISE):
                _emit(line, None if parallel else sys.stderr)
        if proc.wait() != 0:
            raise UsageError(f"failed (exit code {proc.returncode}): {' '.join(argv)}")

    def pip(self, *args: str, env: Optional[Mapping[str, str]] = None) -> None:
        self.run([self.python, "-m", "pip", *args], env)


def data_mirror() -> Optional[str]:
    shared = os.environ.get("SKILLS_SHARED_DIR")
    return os.environ.get("SKILLS_DATA_MIRROR") or (os.path.join(shared, "datasets") if shared else None)


def venv_path(env: Environment, root: Path = PACKAGE_ROOT) -> Path:
    custom = os.environ.get(env.path_env) if env.path_env else None
    return Path(custom) if custom else root / f".venv-{env.name}"


def skipped(item: Declaration) -> bool:
    return bool(item.skip_env) and os.environ.get(item.skip_env or "", "0") == "1"


def _fill(text: str, root: Path, model_dir: Optional[Path] = None) -> str:
    """``{root}``, ``{model_dir}``, ``{orchestrator}``, ``{python:<environment>}``."""
    if "{python:" in text:
        head, _, rest = text.partition("{python:")
        name, _, tail = rest.partition("}")
        text = head + str(venv_path(find_env(name), root) / "bin" / "python") + tail
    return text.replace("{root}", str(root)).replace("{orchestrator}", str(root / ".venv" / "bin" / "python")) \
        .replace("{model_dir}", str(model_dir or ""))


def find_env(name: str) -> Environment:
    item = find(name)
    if not isinstance(item, Environment):
        raise UsageError(f"'{name}' is a test model, not an environment")
    return item


def env_stamp(env: Environment, ctx: BuildContext) -> str:
    from skills.registry import import_path

    if env.stamp:
        key = str(import_path(env.stamp, "stamp function")(ctx))
    else:
        key = " | ".join([*(" ".join(i.packages) for i in env.installs), f"v{env.version}"])
    for extra in env.additions:  # a family's own steps in this environment
        key += " | " + (str(import_path(extra.stamp, "stamp function")(ctx)) if extra.stamp else str(extra.build))
    return key


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def build_environment(env: Environment, root: Path = PACKAGE_ROOT) -> None:
    if skipped(env):
        log(f"{env.skip_env}=1: skipping the {env.name} environment")
        return
    ctx = BuildContext(root, venv_path(env, root), data_mirror())
    label = str(ctx.venv)
    key = env_stamp(env, ctx)
    if _read(ctx.venv / STAMP) == key:
        log(f"{label} up to date")
        return
    log(f"creating {label}" + (f" ({env.about})" if env.about else ""))
    if env.fresh:  # also replaces a link to another checkout's
        if ctx.venv.is_symlink() or ctx.venv.is_file():
            ctx.venv.unlink()
        shutil.rmtree(ctx.venv, ignore_errors=True)
    if not os.access(ctx.python, os.X_OK):
        ctx.run([sys.executable, "-m", "venv", str(ctx.venv)])
    if env.upgrade_pip:
        ctx.pip("install", "-q", "--upgrade", "pip")
    for inst in env.installs:
        ctx.pip("install", "-q", *(["--no-deps"] if inst.no_deps else []), *inst.packages)
    for step in (env.build, *(a.build for a in env.additions)):
        if step:
            from skills.registry import import_path

            import_path(step, "build function")(ctx)
    if env.remove:
        try:
            ctx.pip("uninstall", "-q", "-y", *env.remove)
        except UsageError:
            pass  # not installed
    for check in env.checks:
        ctx.run([ctx.python, *(_fill(a, root) for a in check)], {"PYTHONPATH": str(root)})
    (ctx.venv / STAMP).write_text(key + "\n")
    log(f"{label} ready")


def _digest(paths: Sequence[str], root: Path) -> str:
    h = hashlib.sha256()
    for pattern in paths:
        for path in sorted(glob.glob(str(root / pattern))) if any(c in pattern for c in "*?[") else [root / pattern]:
            h.update(Path(path).read_bytes())
    return h.hexdigest()[:16]


def build_model(model: TestModel, root: Path = PACKAGE_ROOT) -> None:
    if skipped(model):
        log(f"{model.skip_env}=1: skipping {model.name}")
        return
    missing = [n for n in model.needs if skipped(find_env(n))]
    if missing:
        log(f"skipping {model.name}: it needs the {missing[0]} environment ({find_env(missing[0]).skip_env}=1)")
        return
    folder = root / ".cache" / "models" / model.name
    python = str(venv_path(find_env(model.needs[0]), root) / "bin" / "python")
    ctx = BuildContext(root, folder, data_mirror())
    env = dict(model.env)
    script = [python, model.script]
    if model.digest_args:
        key = subprocess.run([*script, *model.digest_args], cwd=root, env={**os.environ, **env}, check=True,
                             stdout=subprocess.PIPE, text=True).stdout.strip()
        present = _read(folder / ".done") == key
    elif model.inputs:
        key = _digest(model.inputs, root)
        present = _read(folder / MODEL_STAMP) == key and (folder / ".done").is_file()
    else:
        key, present = "", (folder / ".done").is_file()
    present = present and all(Path(_fill(r, root, folder)).exists() for r in model.requires)
    if present:
        log(f"{model.name} present")
        return
    log(f"building {model.about}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    for command in model.before:
        ctx.run([_fill(a, root, folder) for a in command])
    ctx.run([*script, *(_fill(a, root, folder) for a in model.args)], env)
    if model.inputs:
        (folder / MODEL_STAMP).write_text(key + "\n")


def build(name: str, root: Path = PACKAGE_ROOT) -> None:
    item = find(name)
    if isinstance(item, Environment):
        build_environment(item, root)
    else:
        build_model(item, root)


def build_many(names: Sequence[str], jobs: int = 1, root: Path = PACKAGE_ROOT) -> None:
    """Build ``names`` in their order, or ``jobs`` at a time: the environments first (they are
    independent of each other; pip mostly waits on downloads and disks), then the test models,
    whose builders run in the environments. Each line of a parallel build starts with its name;
    the first failure is raised once the builds under way have ended."""
    if jobs <= 1:
        for name in names:
            build(name, root)
        return
    items = [find(name) for name in names]
    for phase in ([i for i in items if isinstance(i, Environment)], [i for i in items if isinstance(i, TestModel)]):
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_build_labelled, item, root) for item in phase]
        for future in futures:
            future.result()


def _build_labelled(item: Declaration, root: Path) -> None:
    _LOCAL.label = item.name
    try:
        (build_environment if isinstance(item, Environment) else build_model)(item, root)  # type: ignore[operator]
    finally:
        _LOCAL.label = None
