"""skills: an evaluation orchestrator for large language models (the ``ns`` command line)."""

__version__ = "0.1.0"
