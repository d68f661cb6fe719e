"""What SciCode needs built: its helpers in the sandbox's environment (from PyPI's package, without
its LLM-client dependencies), and the tiny SciCode model its end-to-end tests serve (its ``.done``
holds the digest of its inputs, which the builder prints).
"""

from skills.environments.spec import Environment, Install, TestModel

SANDBOX_PACKAGES = Environment(name="sandbox", installs=(Install(("nvidia-scicode==26.3",), no_deps=True),))

TEST_MODEL = TestModel(
    name="tiny-scicode", about="the tiny SciCode test model (offline, ~1 min)",
    script="scripts/make_tiny_scicode_model.py", digest_args=("--print-digest",),
)
