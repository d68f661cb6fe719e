"""Build, offline, a tiny Llama that calls tools on a few BFCL v3 entries with known outcomes.

Why: the BFCL end-to-end tests need a real model behind a real vLLM server, with tool calls parsed
on the server (our ``skills_json`` plugin) or on the client, and exact expected verdicts. The model
memorises, for the first two entries of each of the 17 splits (and one entry of each multi-turn
split), the answers in ``TARGETS``: some right, some deliberately wrong, in the format
``<tool_calls>[{"name": ..., "arguments": {...}}]`` or plain text.

Its chat template (``CHAT_TEMPLATE``) is made for a 2k-token model: it shows the tool names (not
their schemas) and only the current turn (from the last user message on), and renders each tool
result as a fixed ``[result]`` placeholder, so a multi-turn step's prompt does not depend on the
simulated APIs' outputs. Multi-turn answers: each turn's ground-truth calls in one step, then
``Done.``; turns without ground truth (and overridden turns) answer in text.

Writes to the model folder: the model and tokenizer, ``skills_json_tool_parser.py`` (the vLLM
plugin, copied from skills/benchmarks/bfcl_v3/vllm_tool_parser.py) and ``trained_outcomes.json``
(per entry id: ``correct`` and the expected ``generation`` with server- and client-side parsing).
Run with the server venv's python; bfcl-eval's data comes from the BFCL environment:

    .venv-vllm/bin/python scripts/make_tiny_tool_model.py [--model-dir DIR] [--bfcl-python .venv-bfcl/bin/python]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
SEED = 4321
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
NO_CALL = "I cannot do that with the given functions."
DONE = "Done."
CHAT_TEMPLATE = (
    "{% set ns = namespace(start=0) %}"
    "{% for m in messages %}{% if m['role'] == 'user' %}{% set ns.start = loop.index0 %}{% endif %}{% endfor %}"
    "{% if tools %}{{ '<|im_start|>tools\\n' + (tools | map(attribute='function') | map(attribute='name') "
    "| join(' ')) + '<|im_end|>\\n' }}{% endif %}"
    "{% for m in messages[ns.start:] %}"
    "{% if m['role'] == 'tool' %}{{ '<|im_start|>tool\\n[result]<|im_end|>\\n' }}"
    "{% elif m['role'] == 'assistant' %}{{ '<|im_start|>assistant\\n' }}{% if m['content'] %}{{ m['content'] }}"
    "{% endif %}{% if m['tool_calls'] %}{{ '<tool_calls>' }}{% for c in m['tool_calls'] %}"
    "{{ (c['function']['name'] if c['function'] is defined else c['name']) + ' ' }}{% endfor %}{% endif %}"
    "{{ '<|im_end|>\\n' }}"
    "{% else %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# id -> (expected is_correct, answer). Single turn: text, or a list of (name, arguments) calls.
# Multi-turn: ("gt", {turn: text}) = the ground truth's calls per turn, except the listed text turns.
TARGETS: Dict[str, Tuple[bool, Any]] = {
    "simple_0": (True, [("calculate_triangle_area", {"base": 10, "height": 5})]),
    "simple_1": (False, "The factorial of 5 is 120."),
    "parallel_0": (False, [("spotify_play", {"artist": "Taylor Swift", "duration": 20})]),
    "parallel_1": (True, [("calculate_em_force", {"b_field": 5, "area": 2, "d_time": 4}),
                          ("calculate_em_force", {"b_field": 5, "area": 2, "d_time": 10})]),
    "multiple_0": (True, [("triangle_properties_get", {"side1": 5, "side2": 4, "side3": 3})]),
    "multiple_1": (False, [("math_circle_area", {"radius": 3})]),
    "parallel_multiple_0": (True, [("math_toolkit_sum_of_multiples", {"lower_limit": 1, "upper_limit": 1000,
                                                                       "multiples": [3, 5]}),
                                   ("math_toolkit_product_of_primes", {"count": 5})]),
    "parallel_multiple_1": (False, [("area_rectangle_calculate", {"length": 7.0, "breadth": 3.0})]),
    "java_0": (True, [("GeometryPresentation_createPresentation", {"controller": "mapController",
                                                                   "parent": "mapArea"})]),
    "java_1": (False, [("SQLCompletionAnalyzer_makeProposalsFromObject", {"object": "Orders", "useShortName": "true",
                                                                           "params": "{}"})]),
    "javascript_0": (True, [("validateUserInput", {"inputField": "userInputField", "isComplete": "true"})]),
    "javascript_1": (False, "Use document.querySelectorAll."),
    "irrelevance_0": (True, "I cannot help with that."),
    "irrelevance_1": (False, [("math_sum", {"numbers": [1, 2, 3]})]),
    "live_simple_0-0-0": (True, [("get_user_info", {"user_id": 7890, "special": "black"})]),
    "live_simple_1-1-0": (False, [("github_star", {"repos": "ShishirPatil/gorilla", "aligned": True})]),
    "live_multiple_0-0-0": (True, [("ChaDri_change_drink", {"drink_id": "latte", "new_preferences": {
        "size": "large", "milk_type": "coconut", "sweetness_level": "extra", "temperature": "hot",
        "special_instructions": "boiling hot"}})]),
    "live_multiple_1-0-1": (False, [("ChaDri_change_drink", {"drink_id": "1234", "new_preferences": {
        "sweetness_level": "regular", "temperature": "hot"}})]),
    "live_parallel_0-0-0": (False, [("get_current_weather", {"location": "Beijing, China"})]),
    "live_parallel_1-0-1": (True, [("get_current_weather", {"location": "Boston, MA"}),
                                   ("get_current_weather", {"location": "San Francisco, CA"})]),
    "live_parallel_multiple_0-0-0": (True, [
        ("ChaFod", {"foodItem": "Caesar salad", "removeIngredients": "anchovies"}),
        ("ChaDri_change_drink", {"drink_id": "123", "new_preferences": {"size": "large", "temperature": "hot",
                                                                         "milk_type": "almond"}})]),
    "live_parallel_multiple_1-1-0": (False, "It is sunny in both cities."),
    "live_irrelevance_0-0-0": (False, [("requests_get", {"url": "https://maps.googleapis.com/maps/api/geocode/json"})]),
    "live_irrelevance_1-0-1": (True, "I cannot fetch stock prices."),
    "live_relevance_0-0-0": (True, [("generate_image", {"prompt": "a masked woman with peacock feathers"})]),
    "live_relevance_1-1-0": (False, "Here is your picture."),
    "multi_turn_base_1": (True, ("gt", {})),
    "multi_turn_long_context_1": (True, ("gt", {})),
    "multi_turn_miss_param_1": (False, ("gt", {4: "The last lines are shown above."})),
    "multi_turn_miss_func_1": (True, ("gt", {})),
}


# ----------------------------------------------------------------------------- BFCL data
def bfcl_info(python: str) -> dict:
    """bfcl-eval's data folder, holdout prompt and class -> function-doc file map (from its environment)."""
    code = ("import json, os, bfcl_eval; from bfcl_eval.constants.category_mapping import "
            "MULTI_TURN_FUNC_DOC_FILE_MAPPING as M; from bfcl_eval.constants.default_prompts import "
            "DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC as H; print(json.dumps({'data': "
            "os.path.join(os.path.dirname(bfcl_eval.__file__), 'data'), 'holdout': H, 'docs': M}))")
    env = {**os.environ, "BFCL_PROJECT_ROOT": tempfile.mkdtemp(prefix="bfcl_root_")}
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def jsonl(path: Path) -> List[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def load_entries(info: dict) -> Dict[str, dict]:
    data = Path(info["data"])
    wanted = {i.rsplit("_", 1)[0] for i in TARGETS}
    entries, answers = {}, {}
    for category in wanted:
        entries.update({e["id"]: e for e in jsonl(data / f"BFCL_v3_{category}.json")})
        if (data / "possible_answer" / f"BFCL_v3_{category}.json").is_file():
            answers.update({e["id"]: e["ground_truth"] for e in jsonl(data / "possible_answer" /
                                                                        f"BFCL_v3_{category}.json")})
    out = {}
    for entry_id in TARGETS:
        entry = dict(entries[entry_id])
        entry["ground_truth"] = answers.get(entry_id)
        if "involved_classes" in entry:  # function docs of the classes, minus the held-out ones
            docs = [d for c in entry["involved_classes"] for d in jsonl(data / "multi_turn_func_doc" / info["docs"][c])]
            held = {t: [d for n in names for d in docs if d["name"] == n][:len(names)]
                    for t, names in entry.get("missed_function", {}).items()}
            entry["function"] = [d for d in docs if not any(d in h for h in held.values())]
            entry["held"] = held
        out[entry_id] = entry
    return out


def parse_call(text: str) -> Tuple[str, dict]:
    node = ast.parse(text, mode="eval").body
    if node.args:
        raise SystemExit(f"ground-truth call {text!r} has positional arguments; pick another entry")
    return node.func.id, {k.arg: ast.literal_eval(k.value) for k in node.keywords}


def call_text(calls: List[Tuple[str, dict]]) -> str:
    return "<tool_calls>" + json.dumps([{"name": n, "arguments": a} for n, a in calls])


def tools_of(functions: List[dict]) -> List[dict]:
    return [{"type": "function", "function": {"name": f["name"].replace(".", "_")}} for f in functions]


def conversation(entry: dict, answer: Any, holdout: str) -> Tuple[List[Tuple[list, list, str]], Any, Any]:
    """(prompt messages, tools, target text) for every step the generation loop will make, and the
    expected generation with server-side and with client-side parsing."""
    def gen(calls, text):  # one step's generation in both modes
        if calls:
            return [{n: json.dumps(a)} for n, a in calls], [{n: json.dumps(a)} for n, a in calls]
        return [], text

    if "involved_classes" not in entry:
        tools = tools_of(entry["function"])
        calls = answer if isinstance(answer, list) else None
        target = call_text(calls) if calls else answer
        server, client = gen(calls, answer)
        return [(list(entry["question"][0]), tools, target)], server, client
    _, overrides = answer
    functions, steps, server, client, history = list(entry["function"]), [], [], [], []
    for t, user in enumerate(entry["question"]):
        if str(t) in entry["held"]:
            functions = functions + entry["held"][str(t)]
            user = [{"role": "user", "content": holdout}]
        history = history + list(user)
        tools = tools_of(functions)
        calls = [parse_call(c) for c in entry["ground_truth"][t]] if t not in overrides else []
        text = overrides.get(t, NO_CALL)
        if calls:
            steps.append((list(history), tools, call_text(calls)))
            history = history + [{"role": "assistant", "content": None,
                                  "tool_calls": [{"name": n, "arguments": a} for n, a in calls]}]
            history = history + [{"role": "tool", "content": "x", "tool_call_id": i} for i in range(len(calls))]
            steps.append((list(history), tools, DONE))
            history = history + [{"role": "assistant", "content": DONE}]
            server.append([gen(calls, "")[0], []])
            client.append([gen(calls, "")[1], DONE])
        else:
            steps.append((list(history), tools, text))
            history = history + [{"role": "assistant", "content": text}]
            server.append([[]])
            client.append([text])
    return steps, server, client


# ----------------------------------------------------------------------------- model
def build_tokenizer(texts: List[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                 additional_special_tokens=["<|im_start|>"], padding_side="left")
    hf.chat_template = CHAT_TEMPLATE
    return hf


def prompt_ids(tokenizer, messages: list, tools: list) -> List[int]:
    text = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids == tokenizer(text)["input_ids"], "the tokenizer must not add special tokens"
    return ids


def make_batch(tokenizer, steps):
    import torch

    seqs, labels = [], []
    for messages, tools, target in steps:
        p = prompt_ids(tokenizer, messages, tools)
        a = tokenizer(target, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        seqs.append(p + a)
        labels.append([-100] * len(p) + a)
    width = max(map(len, seqs))
    pad = tokenizer.pad_token_id
    ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs])
    lab = torch.tensor([s + [-100] * (width - len(s)) for s in labels])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    return ids, lab, mask, max(map(len, seqs))


def verify(model, tokenizer, steps) -> None:
    """Greedy generation reproduces every target (transformers, in-process)."""
    import torch

    for messages, tools, target in steps:
        ids = torch.tensor([prompt_ids(tokenizer, messages, tools)])
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=200, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        text = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        if text != target:
            raise SystemExit(f"generated {text!r}, trained {target!r}")


def main(argv: List[str] | None = None) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from make_tiny_model import build_model, train

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=ROOT / ".cache/models/tiny-tool")
    ap.add_argument("--bfcl-python", default=str(ROOT / ".venv-bfcl/bin/python"))
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--max-steps", type=int, default=3000)
    ap.add_argument("--margin", type=float, default=2.0, help="min logit gap of every answer token")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = ap.parse_args(argv)

    t0 = time.time()
    import torch

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    info = bfcl_info(args.bfcl_python)
    entries = load_entries(info)
    steps, outcomes, prompts = [], {}, {}
    for entry_id, (correct, answer) in TARGETS.items():
        conv, server, client = conversation(entries[entry_id], answer, info["holdout"])
        for messages, tools, target in conv:
            key = json.dumps([messages[max(i for i, m in enumerate(messages) if m["role"] == "user"):], tools])
            if key in prompts:  # the template shows the current turn only: equal prompts need equal answers
                if prompts[key] != target:
                    raise SystemExit(f"{entry_id}: the same prompt is trained to two answers")
                continue
            prompts[key] = target
            steps.append((messages, tools, target))
        outcomes[entry_id] = {"correct": correct, "server_generation": server, "client_generation": client}
    texts = [json.dumps(e["question"]) + json.dumps(e["function"]) for e in entries.values()]
    texts += [t for _, _, t in steps] + [CHAT_TEMPLATE, info["holdout"]]
    tokenizer = build_tokenizer(texts, args.vocab_size)
    model = build_model(tokenizer, args.vocab_size)
    ids, lab, mask, longest = make_batch(tokenizer, steps)
    print(f"{len(steps)} training sequences (longest {longest} tokens), tokenizer {len(tokenizer)} tokens, "
          f"{sum(p.numel() for p in model.parameters()) / 1e3:.0f} K params, {time.time() - t0:.1f} s", flush=True)
    t1 = time.time()
    trained = train(model, ids, lab, mask, max_steps=args.max_steps, margin=args.margin)
    print(f"trained {trained} steps in {time.time() - t1:.1f} s", flush=True)
    verify(model, tokenizer, steps)

    args.model_dir.mkdir(parents=True, exist_ok=True)
    (args.model_dir / ".done").unlink(missing_ok=True)
    model.generation_config.do_sample = False
    model.save_pretrained(args.model_dir)
    tokenizer.save_pretrained(args.model_dir)
    tc_path = args.model_dir / "tokenizer_config.json"
    tc = json.loads(tc_path.read_text())
    tc["tokenizer_class"] = "PreTrainedTokenizerFast"
    tc["chat_template"] = CHAT_TEMPLATE
    tc_path.write_text(json.dumps(tc, indent=2) + "\n")
    (args.model_dir / "chat_template.jinja").unlink(missing_ok=True)  # one source of the template
    shutil.copyfile(ROOT / "skills/benchmarks/bfcl_v3/vllm_tool_parser.py", args.model_dir / "skills_json_tool_parser.py")
    (args.model_dir / "trained_outcomes.json").write_text(json.dumps(outcomes, indent=1) + "\n")
    (args.model_dir / ".done").write_text(f"steps={trained}\n")
    print(f"wrote {args.model_dir} (total {time.time() - t0:.1f} s)")


if __name__ == "__main__":
    sys.exit(main())
