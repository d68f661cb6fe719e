"""Packaging glue: ship the top-level prompts/, configs/ and cluster_configs/ inside the wheel.

They stay at the repository's top level for people reading the repo, and are installed as
``skills/resources/<name>`` so that a non-editable ``pip install .`` still finds them
(see ``skills/resources.py``).
"""

from setuptools import find_packages, setup

RESOURCES = {"prompts": "prompts", "configs": "configs", "cluster_configs": "cluster_configs"}

setup(
    packages=find_packages(include=["skills", "skills.*"]) + [f"skills.resources.{n}" for n in RESOURCES],
    package_dir={f"skills.resources.{n}": d for n, d in RESOURCES.items()},
    package_data={f"skills.resources.{n}": ["**/*.yaml", "**/*.yml", "*.yaml"] for n in RESOURCES},
)
