"""The generation program: ``python -m skills.inference.generate ++input_file=IN ++output_file=OUT ...``.

A Hydra program in the reference's sense (``GenerateConfig`` is registered in Hydra's ConfigStore
as ``base_generation_config`` and overrides use Hydra's grammar), but composed through Hydra's
compose API, so Hydra never creates output folders, configures logging or changes directory.
Tokens the reference's pipeline adds for that purpose (``hydra.run.dir=.``, ``hydra/job_logging=none``
...) are accepted and ignored. ``--config-path DIR --config-name NAME`` reads a YAML of settings
(the documented workaround for values a shell would mangle). One request per input row; the shared
machinery (resume, concurrency, grading, ``.done``) is in ``skills.inference.program``.
"""

from __future__ import annotations

import sys

from skills.inference.program import GenerationTask, check_config, load_config, main

TASK = GenerationTask
__all__ = ["TASK", "check_config", "load_config", "main"]

if __name__ == "__main__":
    sys.exit(main(task_cls=TASK, doc=__doc__))
