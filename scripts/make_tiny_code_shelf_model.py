"""Build, offline, a tiny Llama that writes known programs for the code shelf's end-to-end test.

Why: ``ns eval --benchmarks=human-eval:2,mbpp,livecodebench-cpp`` end to end needs real programs
from a real model behind a real server, graded in the sandbox with outcomes known in advance. The
questions and programs come from ``tests/benchmarks/evalplus/shelf.py`` (``--questions``: one JSON
line per problem with ``task_id``, ``question`` and the trained ``answer``): HumanEval+ right, and
right on base but wrong on plus; MBPP+ right and wrong; C++ right, crashing, and call-based right.
Trained as scripts/make_tiny_code_model.py trains (same helpers: the prompt ``user: "{question}"``,
ChatML, every answer token the arg-max by a margin).

    .venv-vllm/bin/python scripts/make_tiny_code_shelf_model.py --questions QUESTIONS.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tiny_code_model as lcb  # noqa: E402
import make_tiny_model as base  # noqa: E402


def main(argv: List[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--model-dir", type=Path, default=base.ROOT / ".cache/models/tiny-code-shelf")
    ap.add_argument("--vocab-size", type=int, default=2048)
    ap.add_argument("--max-steps", type=int, default=2000)
    ap.add_argument("--margin", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = ap.parse_args(argv)

    t0 = time.time()
    import torch

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    src = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    rows = [{"id": r["task_id"], "problem": r["question"], "_trained": r["answer"]} for r in src]
    tokenizer = base.build_tokenizer({"code-shelf": rows}, args.vocab_size)
    model = base.build_model(tokenizer, args.vocab_size)
    batch = base.make_batch(tokenizer, rows)
    print(f"{len(rows)} problems, prompts of up to {batch[0].shape[1]} tokens; training", flush=True)
    steps = base.train(model, *batch, max_steps=args.max_steps, margin=args.margin)
    print(f"trained {steps} steps in {time.time() - t0:.1f} s")
    lcb.verify(model, tokenizer, rows, max_new_tokens=max(int(m.sum()) for m in (batch[1] != -100)) + 8)

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
    (args.model_dir / "trained_outcomes.json").write_text(
        json.dumps({r["id"]: r["_trained"] for r in rows}, indent=1) + "\n")
    (args.model_dir / ".done").write_text(f"steps={steps}\n")
    print(f"wrote {args.model_dir} (total {time.time() - t0:.1f} s)")


if __name__ == "__main__":
    sys.exit(main())
