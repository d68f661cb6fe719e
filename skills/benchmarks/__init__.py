"""Benchmark families: one package each (``math_500/``, ``bfcl_v3/``, ``ruler/``, ...).

A family declares itself (``BENCHMARK``, ``EXTENSIONS``, optional ``member()``) and is found by name
through ``skills.registry``; nothing outside this folder imports a family. See
docs/architecture.md, "Add a benchmark".
"""
