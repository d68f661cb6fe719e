"""What many test folders share, one module per concept: ``paths`` (repository folders, the ``ns``
executable), ``files`` (JSONL), ``prereqs`` (skip locally / fail in CI), ``commands`` (run ``ns``),
``vllm`` (the CPU server settings, cluster configs, session servers), ``stub_server`` (a canned
OpenAI-compatible server), ``cdp`` (headless Chromium), ``slurm`` (the local Slurm fixtures).

A family's own helpers live next to its tests (``tests/benchmarks/<family>/helpers.py``)."""
