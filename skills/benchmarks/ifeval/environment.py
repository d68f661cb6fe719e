"""What Google's IFEval checker needs besides IFBench's environment (nltk 3.9.2 is already there):
its requirements.txt names absl-py, langdetect, nltk and immutabledict, unpinned; we pin them.
Added to the ``ifbench`` environment (no new environment: a few seconds of set-up)."""

from skills.environments.spec import Environment, Install

CHECKER_PACKAGES = Environment(
    name="ifbench",
    installs=(Install(("langdetect==1.0.9", "immutabledict==4.2.1", "absl-py==2.1.0")),),
    checks=(("-c", "import langdetect, immutabledict, absl.logging"),),
)
