"""What ``scripts/setup.sh`` builds, declared: Python environments and test models.

The core declares its own (``core.py``: the code sandbox's packages, the vLLM server, the tiny test
model, SmolLM2); a benchmark family declares the ones it needs in its ``EXTENSIONS``
(``"environment"``, ``"test_model"``: ``module:attribute`` strings), so adding a family never
touches ``setup.sh``. A family may also add packages to a core environment (LiveCodeBench's harness
in the sandbox's). ``python -m skills.environments list`` prints the declarations in build order;
``python -m skills.environments build NAME`` builds one, leaving a stamp so a re-run is instant.
Standard library only: it runs before any virtualenv exists.
"""
