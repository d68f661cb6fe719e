"""Build, offline, a tiny Llama whose benchmark accuracy is known exactly, plus its toy benchmarks.

Why: end-to-end tests need a real model behind a real server whose scores can be asserted. This
model memorises two toy benchmarks: it answers 30 of the 40 ``toy_math`` problems and 15 of the 20
``toy_mcq`` questions correctly and the rest with a deliberately wrong answer, so greedy accuracy
is exactly 75% on each (``toy_mcq``: 100% on subset "easy", 50% on "hard").

It is trained on exactly what the generation program sends: ChatML with one user message whose
content is the problem verbatim (prompt config ``user: "{problem}"``), no system message.
Training stops once every answer token is the arg-max by a safety margin, so the greedy outputs do
not depend on the kernels of the server that runs the model (transformers, vLLM-CPU, ...).

Run with the server venv's python (torch + transformers + tokenizers):
    .venv-vllm/bin/python scripts/make_tiny_model.py [--model-dir DIR] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
SEED = 1234
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LETTERS = "ABCD"


def is_wrong(index: int) -> bool:
    """Items trained to a wrong answer: every 4th (indices 3, 7, 11, ...), i.e. exactly 25%."""
    return index % 4 == 3


def make_benchmarks() -> Dict[str, List[dict]]:
    """The toy benchmarks (rows as written to test.jsonl) plus the trained answer of each row."""
    rng = random.Random(SEED)
    pairs: List[Tuple[int, int]] = []
    while len(pairs) < 60:
        pair = (rng.randint(2, 99), rng.randint(2, 99))
        if pair not in pairs:
            pairs.append(pair)

    math_rows = []
    for i, (a, b) in enumerate(pairs[:40]):
        answer = a + b + (rng.choice([1, 2, 10]) if is_wrong(i) else 0)
        math_rows.append({
            "id": f"toy_math-{i:02d}",
            "problem": f"What is {a} + {b}?",
            "expected_answer": str(a + b),
            "_trained": f"The answer is \\boxed{{{answer}}}.",
            "_correct": not is_wrong(i),
        })

    mcq_rows = []
    for i, (a, b) in enumerate(pairs[40:]):
        total = a + b
        options = [total, total + 1, total - 2, total + 10]
        rng.shuffle(options)
        gold = LETTERS[options.index(total)]
        trained = rng.choice([x for x in LETTERS if x != gold]) if is_wrong(i) else gold
        lines = [f"Which of these equals {a} + {b}?"]
        lines += [f"{letter}) {value}" for letter, value in zip(LETTERS, options)]
        mcq_rows.append({
            "id": f"toy_mcq-{i:02d}",
            "problem": "\n".join(lines),
            "expected_answer": gold,
            "subset_for_metrics": "easy" if i % 2 == 0 else "hard",
            "_trained": f"Answer: {trained}",
            "_correct": not is_wrong(i),
        })
    return {"toy_math": math_rows, "toy_mcq": mcq_rows}


def tokenizer_corpus(benchmarks: Dict[str, List[dict]]) -> List[str]:
    """Deterministic local text (no downloads, independent of the Python version)."""
    lines = []
    for rows in benchmarks.values():
        for row in rows:
            lines += [row["problem"], row["_trained"]]
    for n in range(1000):
        lines.append(f"{n} plus {n % 97} is {n + n % 97}. The answer is \\boxed{{{n}}}. Answer: {LETTERS[n % 4]}")
    lines += [ln for ln in Path(__file__).read_text().splitlines() if ln.strip()]
    return lines


def build_tokenizer(benchmarks: Dict[str, List[dict]], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(tokenizer_corpus(benchmarks), trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"], padding_side="left",
    )
    hf.chat_template = CHAT_TEMPLATE
    return hf


def prompt_ids(tokenizer, problem: str) -> List[int]:
    """Token ids of the chat prompt exactly as an OpenAI-compatible server builds it."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": problem}], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids == tokenizer(text)["input_ids"], "tokenizer must not add special tokens"
    return ids


def build_model(tokenizer, vocab_size: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=vocab_size, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048,
        tie_word_embeddings=True, bos_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(SEED)
    return LlamaForCausalLM(cfg)


def make_batch(tokenizer, rows: List[dict]):
    """Right-padded batch; loss only on the answer tokens (+ <|im_end|>)."""
    import torch

    seqs, labels = [], []
    for row in rows:
        p = prompt_ids(tokenizer, row["problem"])
        a = tokenizer(row["_trained"], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        seqs.append(p + a)
        labels.append([-100] * len(p) + a)
    width = max(map(len, seqs))
    pad = tokenizer.pad_token_id
    ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs])
    lab = torch.tensor([s + [-100] * (width - len(s)) for s in labels])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    return ids, lab, mask


def answer_margin(model, ids, lab, mask) -> Tuple[bool, float]:
    """(all answer tokens are the arg-max, smallest top1-top2 logit gap where the target is top1)."""
    import torch

    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    target = lab[:, 1:]
    sel = target != -100
    lg, tg = logits[sel], target[sel]
    top2 = lg.topk(2, dim=-1)
    ok = bool((top2.indices[:, 0] == tg).all())
    return ok, float((top2.values[:, 0] - top2.values[:, 1]).min())


def train(model, ids, lab, mask, max_steps: int, margin: float) -> int:
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    model.train()
    for step in range(1, max_steps + 1):
        loss = model(input_ids=ids, attention_mask=mask, labels=lab).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0:
            model.eval()
            ok, gap = answer_margin(model, ids, lab, mask)
            model.train()
            print(f"  step {step}: loss {loss.item():.4f}, answers exact: {ok}, min margin {gap:.2f}", flush=True)
            if ok and gap >= margin:
                model.eval()
                return step
    raise SystemExit(f"training did not reach exact answers with margin {margin} in {max_steps} steps")


def grade(bench: str, row: dict, text: str) -> bool:
    if bench == "toy_math":
        found = re.findall(r"\\boxed\{([^}]*)\}", text)
        return bool(found) and found[-1] == row["expected_answer"]
    found = re.findall(r"Answer:\s*([A-D])", text)
    return bool(found) and found[-1] == row["expected_answer"]


def verify(model, tokenizer, benchmarks: Dict[str, List[dict]]) -> None:
    """Greedy generation in-process: every row gives its trained answer; 75% exactly."""
    import torch

    for bench, rows in benchmarks.items():
        correct = 0
        for row in rows:
            ids = torch.tensor([prompt_ids(tokenizer, row["problem"])])
            with torch.no_grad():
                out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=32,
                                     do_sample=False, pad_token_id=tokenizer.pad_token_id)
            text = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
            if text != row["_trained"]:
                raise SystemExit(f"{row['id']}: generated {text!r}, trained {row['_trained']!r}")
            correct += grade(bench, row, text)
        if correct * 4 != len(rows) * 3:
            raise SystemExit(f"{bench}: {correct}/{len(rows)} correct, expected exactly 75%")
        print(f"  {bench}: {correct}/{len(rows)} correct (greedy, transformers)")


def write_data(data_dir: Path, benchmarks: Dict[str, List[dict]]) -> None:
    for bench, rows in benchmarks.items():
        (data_dir / bench).mkdir(parents=True, exist_ok=True)
        with open(data_dir / bench / "test.jsonl", "w") as f:
            for row in rows:
                f.write(json.dumps({k: v for k, v in row.items() if not k.startswith("_")}) + "\n")
    (data_dir / ".done").write_text("ok\n")


def write_outcomes(model_dir: Path, benchmarks: Dict[str, List[dict]]) -> None:
    """trained_outcomes.json: per benchmark, the trained generation and correctness of each id."""
    outcomes = {
        bench: {r["id"]: {"generation": r["_trained"], "correct": r["_correct"]} for r in rows}
        for bench, rows in benchmarks.items()
    }
    (model_dir / "trained_outcomes.json").write_text(json.dumps(outcomes, indent=1) + "\n")


def main(argv: List[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=ROOT / ".cache/models/tiny-llama")
    ap.add_argument("--data-dir", type=Path, default=ROOT / ".cache/toy-data")
    ap.add_argument("--vocab-size", type=int, default=2048)
    ap.add_argument("--max-steps", type=int, default=800)
    ap.add_argument("--margin", type=float, default=2.0, help="min logit gap of every answer token")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = ap.parse_args(argv)

    t0 = time.time()
    import torch

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    benchmarks = make_benchmarks()
    tokenizer = build_tokenizer(benchmarks, args.vocab_size)
    model = build_model(tokenizer, args.vocab_size)
    print(f"built tokenizer ({len(tokenizer)} tokens) and model "
          f"({sum(p.numel() for p in model.parameters()) / 1e3:.0f} K params) in {time.time() - t0:.1f} s")

    rows = benchmarks["toy_math"] + benchmarks["toy_mcq"]
    batch = make_batch(tokenizer, rows)
    t1 = time.time()
    steps = train(model, *batch, max_steps=args.max_steps, margin=args.margin)
    print(f"trained {steps} steps in {time.time() - t1:.1f} s")

    t2 = time.time()
    verify(model, tokenizer, benchmarks)
    print(f"verified in {time.time() - t2:.1f} s")

    args.model_dir.mkdir(parents=True, exist_ok=True)
    (args.model_dir / ".done").unlink(missing_ok=True)
    model.generation_config.do_sample = False
    model.save_pretrained(args.model_dir)
    tokenizer.save_pretrained(args.model_dir)
    # transformers 5 records a generic class name; older readers and vLLM need the explicit one.
    tc_path = args.model_dir / "tokenizer_config.json"
    tc = json.loads(tc_path.read_text())
    tc["tokenizer_class"] = "PreTrainedTokenizerFast"
    tc["chat_template"] = CHAT_TEMPLATE
    tc_path.write_text(json.dumps(tc, indent=2) + "\n")
    write_outcomes(args.model_dir, benchmarks)
    write_data(args.data_dir, benchmarks)
    (args.model_dir / ".done").write_text(f"steps={steps}\n")
    print(f"wrote {args.model_dir} and {args.data_dir} (total {time.time() - t0:.1f} s)")


if __name__ == "__main__":
    sys.exit(main())
