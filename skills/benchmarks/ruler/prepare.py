"""``ns prepare_data ruler --setup NAME --tokenizer_path TOK --max_seq_length N [...]``.

RULER's own generators, at the commit the reference's prepare clones (``upstream``: fetched into
the data dir with the inputs they read), run in the ``ruler`` environment, one process per task,
several tasks at a time (``--num_workers``), each under a wall-clock and a stall limit (see
``runner``). Each generator gets the command line RULER's ``prepare.py --prepare_for_ns`` gives it:
the budget ``N`` minus ``--template_tokens`` (room for the chat template), the task's
``synthetic.yaml`` arguments and ``constants.py`` template + answer prefix, and
``--model_template_token`` (the tokens of RULER's base template, which the generator subtracts).
By default each runs through ``accel`` (the script unchanged, its tokenizer calls answered from
cached pieces, the same bytes; ``--accelerate false`` runs it bare, ``verify`` checks every call).
Output: ``<data_dir>/ruler/NAME/<task>/test.jsonl`` (the reference's rows, see ``rows``) and
reference-style definitions, so ``ns eval --benchmarks ruler.NAME`` finds the group. A task whose
file was made with the same settings and RULER commit is kept as is, so an interrupted preparation
resumes with the tasks still missing.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from skills.benchmarks.ruler import SETUP_NAME, TASKS, rows, upstream
from skills.benchmarks.ruler.runner import Limits, Status, run
from skills.benchmarks.ruler.upstream import RULER
from skills.config.errors import UsageError
from skills.data.io import atomic_open

EXAMPLE = ("ns prepare_data ruler --setup nemotron_nano_128k --tokenizer_path nvidia/NVIDIA-Nemotron-Nano-9B-v2 "
           "--max_seq_length 131072 --data_dir DIR")
STAMP = ".prepared.json"  # settings a task's file was generated with
ACCELERATE = ("true", "false", "verify")
ACCEL = "skills.benchmarks.ruler.accel"
# Start order: the longest tasks first (accelerated, 131072 tokens), so none runs alone at the end.
LONGEST_FIRST = ("niah_multikey_2", "qa_2", "niah_multivalue", "niah_multikey_3", "niah_multikey_1",
                 "niah_single_2", "niah_single_3", "niah_multiquery", "qa_1", "niah_single_1", "cwe", "fwe", "vt")


@dataclass(frozen=True)
class Options:
    setup: str
    tokenizer_path: str
    max_seq_length: int
    tasks: Tuple[str, ...] = TASKS
    num_samples: int = 500
    template_tokens: int = 50
    random_seed: int = 42
    num_workers: int = 0  # 0: one per CPU, at most one per task, as many as the memory holds
    task_timeout: float = 6 * 3600.0
    stall_timeout: float = 1800.0
    tmp_data_dir: Optional[str] = None  # where raw generator output goes (default: inside the setup folder)
    allow_input_mismatch: bool = False  # accept a mirror's input that is not the one RULER pins (a stand-in)
    accelerate: str = "true"  # true: exact accelerations around the generators (see accel); false: bare; verify


def _number(extra: Dict[str, str], key: str, default, kind=int, minimum=1):
    raw = extra.pop(key, None)
    if raw is None:
        if default is None:
            raise UsageError(f"ruler: --{key} is required, e.g. {EXAMPLE}")
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise UsageError(f"ruler: --{key} must be a number, got {raw!r}") from None
    if value < minimum:
        raise UsageError(f"ruler: --{key} must be >= {minimum}, got {raw}")
    return value


def _flag(extra: Dict[str, str], key: str) -> bool:
    raw = str(extra.pop(key, "false")).lower()
    if raw not in ("true", "false", "1", "0"):
        raise UsageError(f"ruler: --{key} takes no value (or true/false), got {raw!r}")
    return raw in ("true", "1")


def _accelerate(extra: Dict[str, str]) -> str:
    raw = str(extra.pop("accelerate", "true")).lower()
    value = {"1": "true", "0": "false"}.get(raw, raw)
    if value not in ACCELERATE:
        raise UsageError(f"ruler: --accelerate takes {', '.join(ACCELERATE)}, got {raw!r}")
    return value


def parse_options(extra: Dict[str, str]) -> Options:
    """The pass-through flags of ``ns prepare_data ruler``; anything unknown is a typo."""
    extra = dict(extra)
    setup, tokenizer = extra.pop("setup", None), extra.pop("tokenizer_path", None)
    if not setup or not tokenizer or setup == "true" or tokenizer == "true":
        raise UsageError(f"ruler: --setup and --tokenizer_path are required, e.g. {EXAMPLE}")
    if not SETUP_NAME.fullmatch(setup):
        raise UsageError(f"ruler: --setup {setup!r} must be letters, digits, '_' or '-' (it becomes ruler.{setup})")
    tasks = tuple(t for t in extra.pop("tasks", ",".join(TASKS)).replace(",", " ").split() if t)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise UsageError(f"ruler: unknown task(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(TASKS)}")
    opts = Options(
        setup=setup, tokenizer_path=tokenizer, max_seq_length=_number(extra, "max_seq_length", None),
        tasks=tuple(dict.fromkeys(tasks)), num_samples=_number(extra, "num_samples", 500),
        template_tokens=_number(extra, "template_tokens", 50, minimum=0),
        random_seed=_number(extra, "random_seed", 42, minimum=0), num_workers=_number(extra, "num_workers", 0, minimum=0),
        task_timeout=_number(extra, "task_timeout", 6 * 3600.0, float, 0),
        stall_timeout=_number(extra, "stall_timeout", 1800.0, float, 0), tmp_data_dir=extra.pop("tmp_data_dir", None),
        allow_input_mismatch=_flag(extra, "allow_input_mismatch"), accelerate=_accelerate(extra),
    )
    if extra:
        raise UsageError(f"ruler: unknown prepare_data option --{next(iter(extra))}")
    return opts


def ruler_python() -> str:
    """The ``ruler`` environment: ``$SKILLS_PYTHON_RULER``, ``<repo>/.venv-ruler``, or this
    interpreter when it has RULER's imports."""
    import importlib.util

    from skills.config.interpreters import environment_python, python_env_var

    python = environment_python("ruler")
    if python:
        return python
    if all(importlib.util.find_spec(m) is not None for m in ("wonderwords", "nltk", "transformers", "tenacity")):
        return sys.executable
    raise UsageError("ruler: the environment for RULER's generators (wonderwords, nltk, transformers, ...) is not "
                     "set up: run scripts/setup.sh (it builds .venv-ruler), map environments.ruler in the cluster "
                     f"config, or set {python_env_var('ruler')}")


def generator_env(opts: Options, mirror: Optional[Path], data_dir: Path) -> Dict[str, str]:
    """Offline-friendly environment: NLTK data from the mirror or the data dir, a local tokenizer
    folder read without the hub, one thread per process (tasks already run side by side)."""
    from skills.evaluation.external import PACKAGE_ROOT

    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    if opts.accelerate != "false":  # the generators then run through ``python -m skills.benchmarks.ruler.accel``
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    nltk = [p for p in ([mirror / "ruler" / "nltk_data", mirror / "nltk_data"] if mirror else []) if p.is_dir()]
    nltk += [data_dir / "nltk_data"] + [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    env["NLTK_DATA"] = os.pathsep.join(map(str, nltk))
    if Path(opts.tokenizer_path).is_dir():
        env["HF_HUB_OFFLINE"] = "1"
    return env


def describe(python: str, opts: Options, env: Dict[str, str], scripts: Path, download_dir: Optional[Path]) -> dict:
    """What RULER's files say (see ``describe.py``), read in its environment."""
    from skills.config.interpreters import PACKAGE_ROOT

    argv = [python, "-m", "skills.benchmarks.ruler.describe", "--scripts", str(scripts), "--tokenizer_path",
            opts.tokenizer_path, "--tasks", ",".join(opts.tasks)]
    argv += ["--nltk_download_dir", str(download_dir)] if download_dir else []
    env = dict(env, PYTHONPATH=os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p))
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        said = [ln[len("error: "):] for ln in lines if ln.startswith("error: ")] or lines[-1:] or [f"{python} failed"]
        raise UsageError(f"ruler: {said[-1]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def budget(opts: Options, info: dict, task: str) -> int:
    """``--max_seq_length`` of RULER's generator: the length minus ``--template_tokens``, as the
    reference's prepare passes it (the generator itself subtracts the base template's tokens, and fwe
    also its answer). Too small to hold the base template, the answer and a little text: an error."""
    cfg = info["tasks"][task]
    room = opts.max_seq_length - opts.template_tokens
    if room - info["template_tokens"] <= cfg["tokens_to_generate"] + 200:
        raise UsageError(f"ruler: --max_seq_length {opts.max_seq_length} leaves {room} tokens for {task}; too small")
    return room


def generator_argv(python: str, opts: Options, info: dict, task: str, work: Path, scripts: Path) -> List[str]:
    """The generator's command line, as RULER's ``prepare.py --prepare_for_ns`` builds it (``scripts``:
    the generators' folder of the working copy)."""
    cfg = info["tasks"][task]
    head = {"true": ["-m", ACCEL], "verify": ["-m", ACCEL, "--verify"]}.get(opts.accelerate, [])
    argv = [python, *head, str(scripts / f"{cfg['kind']}.py"), "--save_dir", str(work), "--save_name", task,
            "--subset", "test", "--tokenizer_path", opts.tokenizer_path, "--tokenizer_type", "hf",
            "--max_seq_length", str(budget(opts, info, task)), "--tokens_to_generate", str(cfg["tokens_to_generate"]),
            "--num_samples", str(opts.num_samples), "--random_seed", str(opts.random_seed)]
    for key, value in cfg["args"].items():
        argv += [f"--{key}", str(value)]
    if cfg["kind"] == "qa":
        argv += ["--pre_samples", "0"]
    return argv + ["--template", cfg["template"] + cfg["answer_prefix"],
                   "--model_template_token", str(info["template_tokens"])]


def task_memory_mb(opts: Options) -> float:
    """A generator's peak memory, roughly: niah's 6.2 M word pairs and the libraries (~1.1 GB), then
    every row kept until the file is written at the end (~4.5 bytes of text per token)."""
    return 1200 + opts.num_samples * opts.max_seq_length * 5 / 1e6


def available_mb() -> Optional[float]:
    try:
        with open("/proc/meminfo") as fh:
            fields = dict(line.split(":", 1) for line in fh)
        return int(fields["MemAvailable"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        return None


def default_workers(opts: Options, tasks: int) -> int:
    """One task per CPU, as many as the available memory holds (at least one)."""
    workers = min(tasks, os.cpu_count() or 1)
    memory = available_mb()
    if memory is not None:
        workers = min(workers, max(1, int(memory // task_memory_mb(opts))))
    return workers


class Reporter:
    """Plain progress lines: per task at most every ``$SKILLS_PROGRESS_INTERVAL`` seconds (30)."""

    def __init__(self, setup: str) -> None:
        from skills.inference.progress import INTERVAL_ENV

        self.setup = setup
        self.interval = float(os.environ.get(INTERVAL_ENV, "30"))
        self.last: Dict[str, Tuple[float, str]] = {}
        self.lock = threading.Lock()

    def say(self, task: str, text: str) -> None:
        with self.lock:
            print(f"ruler.{self.setup}.{task}: {text}", flush=True)

    def status(self, task: str, st: Status) -> None:
        now = time.monotonic()
        when, phase = self.last.get(task, (0.0, ""))
        if now - when < self.interval and phase == st.phase:
            return
        self.last[task] = (now, st.phase)
        elapsed = f"{now - st.started:.0f} s"
        if st.phase == "sizing":
            self.say(task, f"sizing the haystack ({st.tokens} tokens so far, {elapsed})")
        elif st.phase == "generating":
            self.say(task, f"{st.done}/{st.total} samples ({elapsed})")


def _stamp(opts: Options, commit: str, task: str, inputs: Dict[str, str]) -> dict:
    keep = ("tokenizer_path", "max_seq_length", "num_samples", "template_tokens", "random_seed")
    return {**{k: v for k, v in asdict(opts).items() if k in keep}, "task": task, "ruler_commit": commit,
            "inputs": inputs}


def up_to_date(folder: Path, stamp: dict) -> bool:
    """The task's file was made with these settings, this RULER commit and these input files (those
    not fetched yet are not compared: a kept file never needs a download)."""
    try:
        made = json.loads((folder / STAMP).read_text())
        if not (folder / "test.jsonl").is_file():
            return False
    except (OSError, ValueError):
        return False
    same = {k: v for k, v in made.items() if k != "inputs"} == {k: v for k, v in stamp.items() if k != "inputs"}
    return same and all(made.get("inputs", {}).get(k) == v for k, v in stamp["inputs"].items())


def prepare(ctx) -> List[Path]:
    if ctx.split not in (None, "test"):
        raise UsageError(f"ruler: the only split is test, got --split {ctx.split}")
    opts = parse_options(ctx.extra)
    data_dir = Path(ctx.data_dir)
    root = data_dir / "ruler" / opts.setup
    python = ruler_python()
    code = upstream.fetch_code(data_dir, ctx.mirror)
    commit = upstream.commit_of(code)
    env = generator_env(opts, ctx.mirror, data_dir)
    info = describe(python, opts, env, code / "scripts", None if ctx.mirror else data_dir / "nltk_data")
    if info["needs_punkt"] and not info["punkt"]:
        where = (f"nor in {ctx.mirror}/ruler/nltk_data" if ctx.mirror
                 else f"and downloading it into {data_dir / 'nltk_data'} failed (offline? use --mirror)")
        raise UsageError(f"ruler: essay haystacks need NLTK's punkt_tab: not in $NLTK_DATA {where}")
    for task in opts.tasks:
        budget(opts, info, task)  # a too small --max_seq_length fails before anything runs
    report = Reporter(opts.setup)
    cached = upstream.inputs_dir(data_dir)

    def known_inputs(task: str) -> Dict[str, str]:
        names = upstream.needed_inputs({task: info["tasks"][task]})
        return upstream.input_digests({n: cached / n for n in names if (cached / n).is_file()})

    todo = [t for t in opts.tasks if not up_to_date(root / t, _stamp(opts, commit, t, known_inputs(t)))]
    for task in opts.tasks:
        if task not in todo:
            report.say(task, f"up to date ({root / task / 'test.jsonl'}; delete the folder to generate it again)")
    work_root = Path(opts.tmp_data_dir) if opts.tmp_data_dir else root / ".work"
    errors: List[str] = []
    if todo:
        inputs = upstream.ensure_inputs(upstream.needed_inputs({t: info["tasks"][t] for t in todo}), data_dir,
                                        ctx.mirror, code, python, opts.allow_input_mismatch)
        scripts = upstream.working_copy(code, inputs, work_root / "ruler")
        digests = upstream.input_digests(inputs)
        limits = Limits(opts.task_timeout, opts.stall_timeout)
        cancel = threading.Event()

        def one(task: str) -> None:
            cfg, work = info["tasks"][task], work_root / task
            report.say(task, f"generating {opts.num_samples} samples with a budget of {budget(opts, info, task)} tokens")
            t0 = time.monotonic()
            try:
                run(generator_argv(python, opts, info, task, work, scripts), env, root / ".logs" / f"{task}.log",
                    limits, f"ruler.{opts.setup}.{task}", opts.num_samples, lambda st: report.status(task, st), cancel)
                (root / task / STAMP).unlink(missing_ok=True)
                n = rows.convert(work / task / "test.jsonl", root / task / "test.jsonl", opts.num_samples)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            _write(root / task / "__init__.py", rows.task_definition(task))
            names = upstream.needed_inputs({task: cfg})
            _write(root / task / STAMP, json.dumps(_stamp(opts, commit, task, {k: digests[k] for k in names})))
            report.say(task, f"{n} rows in {time.monotonic() - t0:.0f} s")

        workers = opts.num_workers or default_workers(opts, len(todo))
        print(f"ruler.{opts.setup}: {len(todo)} task(s) with {workers} worker(s), RULER {RULER.repo}@{commit[:12]} "
              f"in {python}", flush=True)
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                futures = {pool.submit(one, t): t for t in sorted(todo, key=LONGEST_FIRST.index)}
                try:
                    for fut in concurrent.futures.as_completed(futures):
                        try:
                            fut.result()
                        except UsageError as exc:  # the other tasks go on: their files are kept
                            errors.append(exc.message)
                            print(f"error: {exc.message}", file=sys.stderr, flush=True)
                except BaseException:
                    cancel.set()  # Ctrl-C or a bug: no generator outlives us, none starts
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        finally:
            shutil.rmtree(work_root / "ruler", ignore_errors=True)
    if not opts.tmp_data_dir and work_root.is_dir() and not any(work_root.iterdir()):
        work_root.rmdir()
    done = [t for t in TASKS if (root / t / "__init__.py").is_file() and (root / t / "test.jsonl").is_file()]
    if done:
        _write(root / "__init__.py", rows.group_definition(opts.setup, done))
    if errors:
        raise UsageError(f"ruler: {len(errors)} of {len(todo)} task(s) failed; first: {errors[0]}")
    return [root / t / "test.jsonl" for t in opts.tasks]


def _write(path: Path, text: str) -> None:
    with atomic_open(path) as fh:
        fh.write(text)
