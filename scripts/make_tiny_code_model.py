"""Build, offline, a tiny Llama that writes known Python programs for the LiveCodeBench fixture.

Why: the LiveCodeBench end-to-end tests need real programs from a real model behind a real server,
graded in the sandbox with outcomes known in advance. For each problem of the fixture's default
split (tests/fixtures/livecodebench, prepared by ``ns prepare_data livecodebench --mirror
tests/fixtures``) the model is trained to answer with one fenced program (``PROGRAMS``): three
pass, one prints a wrong answer, one loops forever (6 s per-test timeout), one raises an exception.
So greedy accuracy is exactly 50% (medium 100%, hard 0%, easy 50%).

It is trained on exactly what the generation program sends with the prompt ``user: "{question}"``
(ChatML, one user message, no system message), until every answer token is the arg-max by a margin,
so greedy outputs do not depend on the server's kernels. Helpers come from make_tiny_model.py.

    .venv-vllm/bin/python scripts/make_tiny_code_model.py --questions DATA/livecodebench/test_v6_2408_2505.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tiny_model as base  # noqa: E402

ROOT = base.ROOT
FENCE = "```"
# task_id -> (program, passes, why); the fixture's problems are defined in tests/benchmarks/livecodebench/helpers.py
PROGRAMS: Dict[str, tuple] = {
    "3230": ("class Solution:\n    def findPair(self, nums, target):\n        seen = {}\n"
             "        for j, x in enumerate(nums):\n            if target - x in seen:\n"
             "                return [seen[target - x], j]\n            seen.setdefault(x, j)",
             True, "functional, correct"),
    "2052_B": ("t = int(input())\nfor _ in range(t):\n    n = int(input())\n"
               "    a = list(map(int, input().split()))\n    print(f'{sum(a) / n:.16f}')",
               True, "stdin, equal as decimals"),
    "3401": ("class Solution:\n    def longestRun(self, s):\n        return len(set(s))",
             False, "wrong answer"),
    "abc390_c": ("n = int(input())\nsteps = 0\nwhile n != 1:\n    steps += 1\nprint(steps)",
                 False, "time limit (never ends)"),
    "3466": ("class Solution:\n    def maxValue(self, nums):\n        return nums[len(nums)]",
             False, "runtime error (IndexError)"),
    "arc195_a": ("print(' '.join(input().split()[::-1]))", True, "stdin, correct"),
}


def answer(task_id: str) -> str:
    return f"{FENCE}python\n{PROGRAMS[task_id][0]}\n{FENCE}"


def load_rows(questions: Path) -> List[dict]:
    rows = [json.loads(line) for line in questions.read_text().splitlines() if line.strip()]
    ids = [r["task_id"] for r in rows]
    if sorted(ids) != sorted(PROGRAMS):
        raise SystemExit(f"{questions}: expected the problems {sorted(PROGRAMS)}, got {sorted(ids)}")
    return [{"id": r["task_id"], "problem": r["question"], "_trained": answer(r["task_id"])} for r in rows]


def verify(model, tokenizer, rows: List[dict], max_new_tokens: int) -> None:
    import torch

    for row in rows:
        ids = torch.tensor([base.prompt_ids(tokenizer, row["problem"])])
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                 do_sample=False, pad_token_id=tokenizer.pad_token_id)
        text = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        if text != row["_trained"]:
            raise SystemExit(f"{row['id']}: generated {text!r}, trained {row['_trained']!r}")
    print(f"  all {len(rows)} programs reproduced (greedy, transformers)")


def main(argv: List[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, required=True, help="prepared test_v6_2408_2505.jsonl of the fixture")
    ap.add_argument("--model-dir", type=Path, default=ROOT / ".cache/models/tiny-code")
    ap.add_argument("--vocab-size", type=int, default=2048)
    ap.add_argument("--max-steps", type=int, default=1500)
    ap.add_argument("--margin", type=float, default=2.0, help="min logit gap of every answer token")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = ap.parse_args(argv)

    t0 = time.time()
    import torch

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rows = load_rows(args.questions)
    tokenizer = base.build_tokenizer({"livecodebench": rows}, args.vocab_size)
    model = base.build_model(tokenizer, args.vocab_size)
    batch = base.make_batch(tokenizer, rows)
    print(f"{len(rows)} problems, prompts of up to {batch[0].shape[1]} tokens; training", flush=True)
    steps = base.train(model, *batch, max_steps=args.max_steps, margin=args.margin)
    print(f"trained {steps} steps in {time.time() - t0:.1f} s")
    verify(model, tokenizer, rows, max_new_tokens=max(int(m.sum()) for m in (batch[1] != -100)) + 8)

    args.model_dir.mkdir(parents=True, exist_ok=True)
    (args.model_dir / ".done").unlink(missing_ok=True)
    model.generation_config.do_sample = False
    model.save_pretrained(args.model_dir)
    tokenizer.save_pretrained(args.model_dir)
    tc_path = args.model_dir / "tokenizer_config.json"
    tc = json.loads(tc_path.read_text())
    tc["tokenizer_class"] = "PreTrainedTokenizerFast"
    tc["chat_template"] = base.CHAT_TEMPLATE
    tc_path.write_text(json.dumps(tc, indent=2) + "\n")
    outcomes = {r["id"]: {"generation": r["_trained"], "passes": PROGRAMS[r["id"]][1], "why": PROGRAMS[r["id"]][2]}
                for r in rows}
    (args.model_dir / "trained_outcomes.json").write_text(json.dumps(outcomes, indent=1) + "\n")
    (args.model_dir / ".done").write_text(f"steps={steps}\n")
    print(f"wrote {args.model_dir} (total {time.time() - t0:.1f} s)")


if __name__ == "__main__":
    sys.exit(main())
