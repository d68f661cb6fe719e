"""Runs in the ``ruler`` environment: what preparation needs from RULER's code, as JSON.

``python -m skills.benchmarks.ruler.describe --scripts DIR --tokenizer_path TOK --tasks a,b
[--nltk_download_dir D]`` (``DIR``: RULER's ``scripts/`` folder, see ``upstream``) prints one JSON
object: per task its generator, the arguments ``synthetic.yaml`` gives it and the ``tokens_to_generate``,
template and answer prefix of RULER's ``constants.py`` (merged as RULER's ``prepare.py`` merges
them); the tokens of RULER's base model template ``{task_template}``, which RULER's NeMo-Skills mode
(``--prepare_for_ns``) passes to the generators as ``--model_template_token``; and whether NLTK's
``punkt_tab`` (essay haystacks split at sentences) is there, fetched into ``D`` when missing and
allowed. Nothing of RULER is copied: everything is read from its files.
Errors: one line on stderr, exit code 2. Also checks the tokenizer loads before hours of work start.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

PUNKT = "tokenizers/punkt_tab/english/"


class Failure(Exception):
    pass


def _module(path: Path, name: str) -> Any:
    """One of RULER's modules, loaded from its file (its folder first on the path, as when RULER runs it)."""
    if not path.is_file():
        raise Failure(f"{path} is missing: not a RULER scripts folder")
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    finally:
        sys.path.remove(str(path.parent))
    return module


def task_table(scripts: Path, tasks: List[str]) -> Dict[str, Dict[str, Any]]:
    import yaml

    base = _module(scripts / "data" / "synthetic" / "constants.py", "ruler_constants").TASKS
    configs = yaml.safe_load((scripts / "synthetic.yaml").read_text(encoding="utf-8"))
    out = {}
    for task in tasks:
        if task not in configs:
            raise Failure(f"task {task} is not in {scripts / 'synthetic.yaml'} (it has {', '.join(configs)})")
        kind = configs[task]["task"]
        if kind not in base:
            raise Failure(f"{task}: RULER's constants.py has no task {kind}")
        out[task] = {"kind": kind, "args": dict(configs[task].get("args") or {}),
                     "tokens_to_generate": base[kind]["tokens_to_generate"], "template": base[kind]["template"],
                     "answer_prefix": base[kind].get("answer_prefix", "")}
    return out


def template_tokens(scripts: Path, tokenizer_path: str) -> int:
    templates = _module(scripts / "data" / "template.py", "ruler_template").Templates
    select = _module(scripts / "data" / "tokenizer.py", "ruler_tokenizer").select_tokenizer
    try:
        tokenizer = select("hf", tokenizer_path)
    except Exception as exc:  # a hub id without network, a folder without tokenizer files, ...
        raise Failure(f"cannot load the tokenizer {tokenizer_path}: {type(exc).__name__}: {exc}") from None
    return len(tokenizer.text_to_tokens(templates["base"]))


def punkt(download_dir: Optional[str]) -> Optional[str]:
    """Where ``punkt_tab`` was found (``$NLTK_DATA`` first), fetched into ``download_dir`` if allowed."""
    import nltk

    try:
        return str(nltk.data.find(PUNKT))
    except LookupError:
        pass
    if download_dir and nltk.download("punkt_tab", download_dir=download_dir, quiet=True):
        nltk.data.path.insert(0, download_dir)
        return str(nltk.data.find(PUNKT))
    return None


def describe(scripts: Path, tokenizer_path: str, tasks: List[str], download_dir: Optional[str]) -> Dict[str, Any]:
    table = task_table(scripts, tasks)
    essay = any(t["args"].get("type_haystack") == "essay" for t in table.values())
    return {"scripts": str(scripts / "data" / "synthetic"), "tasks": table,
            "template_tokens": template_tokens(scripts, tokenizer_path),
            "punkt": punkt(download_dir) if essay else None, "needs_punkt": essay}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skills.benchmarks.ruler.describe")
    parser.add_argument("--scripts", required=True, help="RULER's scripts/ folder")
    parser.add_argument("--tokenizer_path", required=True)
    parser.add_argument("--tasks", required=True, help="comma-separated")
    parser.add_argument("--nltk_download_dir", default=None)
    args = parser.parse_args(argv)
    try:
        info = describe(Path(args.scripts), args.tokenizer_path, [t for t in args.tasks.split(",") if t],
                        args.nltk_download_dir)
    except Failure as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)  # one line, whatever the library said
        return 2
    except ImportError as exc:
        print(f"error: the ruler environment {sys.prefix} lacks {exc.name or exc}: run scripts/setup.sh",
              file=sys.stderr)
        return 2
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
