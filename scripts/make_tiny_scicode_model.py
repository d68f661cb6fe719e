"""Build, offline, a tiny Llama that answers the SciCode test problems step by step, known right or wrong.

Why: the SciCode end-to-end tests need a real model behind a real server whose scores are known
exactly. The problems are tests/fixtures/scicode/problems.jsonl and the prompt config
tests/fixtures/scicode/prompt.yaml (short, and independent of the benchmark's own wording). The
model is trained on exactly the prompts the generation module sends: each step's prompt is built
with the module's own field rules from the code extracted from the trained answers of the steps
before it. Of the 8 steps it answers, 6 are right; 9101.3 returns a wrong value and 9103.1 calls
``math``, whose import line the extraction strips (NameError, as upstream). Step 9105.2's prompt is
longer than the model's 2048-token context: the server refuses it, and the generation records it
and the step after it as out of context. Graded with tests/fixtures/scicode/build_h5.py's targets:
1 of 4 problems and 6 of the 9 graded keys pass (9105 gets 2 keys for 3 steps, as the reference).

Training reuses scripts/make_tiny_model.py (tokenizer, model, loss on answers only, arg-max margin).
Run with the server venv's python (torch + transformers + tokenizers):
    .venv-vllm/bin/python scripts/make_tiny_scicode_model.py [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]

import make_tiny_model as base  # noqa: E402
from skills.benchmarks.scicode.steps import extract_code, prompt_fields  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "scicode"
# What the model depends on: a change to any of these means it must be rebuilt (.done holds the digest).
INPUTS = [Path(__file__), ROOT / "scripts" / "make_tiny_model.py", ROOT / "skills/benchmarks/scicode/steps.py",
          FIXTURES / "problems.jsonl", FIXTURES / "prompt.yaml"]
# step -> (trained answer, status when graded)
TRAINED: Dict[str, tuple] = {
    "9101.1": ("```python\n# Background: scaling multiplies every component.\nimport numpy as np\n"
               "def scale(v, k):\n    out = np.asarray(v) * k\n    return out\n```", "completed"),
    "9101.2": ("```python\ndef norm2(v):\n    n = np.linalg.norm(v)\n    return n\n```", "completed"),
    "9101.3": ("```python\ndef unit(v):\n    u = v / 2\n    return u\n```", "error"),
    "9102.1": ("```python\ndef counts(xs):\n    n, total = len(xs), sum(xs)\n    return n, total\n```", "completed"),
    "9102.2": ("```python\ndef label(x):\n    word = 'even' if x % 2 == 0 else 'odd'\n    return word\n```",
               "completed"),
    "9103.1": ("```python\nimport math\ndef root(x):\n    r = math.sqrt(x)\n    return r\n```", "error"),
    "9103.2": ("```python\ndef double(x):\n    y = 2 * x\n    return y\n```", "completed"),
    "9105.1": ("```python\ndef triple(x):\n    t = 3 * x\n    return t\n```", "completed"),
    "9105.2": None,  # the prompt does not fit the context: never answered
}


def inputs_digest() -> str:
    import hashlib

    h = hashlib.sha256()
    for path in INPUTS:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def load_template() -> str:
    import yaml

    return yaml.safe_load((FIXTURES / "prompt.yaml").read_text())["user"]


def training_rows() -> Tuple[List[dict], List[str]]:
    """One row per answered step (the exact user message the generation module sends, and the
    answer), and the prompts that must not fit the context."""
    template = load_template()
    rows, too_long = [], []
    for line in (FIXTURES / "problems.jsonl").read_text().splitlines():
        problem = json.loads(line)
        steps = problem["sub_steps"]
        codes: list = [None] * len(steps)
        for i, step in enumerate(steps):
            fields = prompt_fields(problem, i, codes, with_background=True)
            user = template.format(**{**problem, **fields, "examples": ""})
            if TRAINED[step["step_number"]] is None:
                too_long.append(user)
                break
            answer, status = TRAINED[step["step_number"]]
            rows.append({"id": step["step_number"], "problem": user, "_trained": answer, "status": status})
            codes[i] = extract_code(answer)
    return rows, too_long


def verify(model, tokenizer, rows: List[dict]) -> None:
    import torch

    for row in rows:
        ids = torch.tensor([base.prompt_ids(tokenizer, row["problem"])])
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=96, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        text = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        if text != row["_trained"]:
            raise SystemExit(f"{row['id']}: generated {text!r}, trained {row['_trained']!r}")
    print(f"  all {len(rows)} steps answered as trained (greedy, transformers)")


def main(argv: List[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=ROOT / ".cache/models/tiny-scicode")
    ap.add_argument("--vocab-size", type=int, default=2048)
    ap.add_argument("--max-steps", type=int, default=800)
    ap.add_argument("--margin", type=float, default=2.0, help="min logit gap of every answer token")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    ap.add_argument("--print-digest", action="store_true", help="print the digest of the inputs and exit")
    args = ap.parse_args(argv)
    if args.print_digest:
        print(inputs_digest())
        return

    t0 = time.time()
    import torch

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rows, too_long = training_rows()
    tokenizer = base.build_tokenizer({"scicode": rows}, args.vocab_size)
    model = base.build_model(tokenizer, args.vocab_size)
    longest = max(len(base.prompt_ids(tokenizer, r["problem"])) for r in rows)
    print(f"{len(rows)} steps, longest prompt {longest} tokens")
    context = model.config.max_position_embeddings
    for user in too_long:
        if len(base.prompt_ids(tokenizer, user)) <= context:
            raise SystemExit(f"a prompt meant to overflow the {context}-token context fits it")
    steps = base.train(model, *base.make_batch(tokenizer, rows), max_steps=args.max_steps, margin=args.margin)
    print(f"trained {steps} steps in {time.time() - t0:.1f} s")
    verify(model, tokenizer, rows)

    args.model_dir.mkdir(parents=True, exist_ok=True)
    (args.model_dir / ".done").unlink(missing_ok=True)
    model.generation_config.do_sample = False
    model.save_pretrained(args.model_dir)
    tokenizer.save_pretrained(args.model_dir)
    tc_path = args.model_dir / "tokenizer_config.json"  # as make_tiny_model.py: explicit class + template
    tc = json.loads(tc_path.read_text())
    tc["tokenizer_class"] = "PreTrainedTokenizerFast"
    tc["chat_template"] = base.CHAT_TEMPLATE
    tc_path.write_text(json.dumps(tc, indent=2) + "\n")
    outcomes = {r["id"]: {"generation": r["_trained"], "status": r["status"]} for r in rows}
    (args.model_dir / "trained_outcomes.json").write_text(json.dumps({"scicode": outcomes}, indent=1) + "\n")
    (args.model_dir / ".done").write_text(inputs_digest() + "\n")
    print(f"wrote {args.model_dir} (total {time.time() - t0:.1f} s)")


if __name__ == "__main__":
    sys.exit(main())
