"""Packaging glue: ship the top-level prompts/, configs/ and cluster_configs/ inside the wheel.

They stay at the repository's top level for people reading the repo, and are installed as
``skills/resources/<name>`` so that a non-editable ``pip install .`` still finds them
(see ``skills/resources/__init__.py``). Every sub-folder becomes a data-only package, so nested
prompt folders (``prompts/eval/aai``) ship too.
"""

import os

from setuptools import find_packages, setup

RESOURCES = ("prompts", "configs", "cluster_configs")
HERE = os.path.dirname(os.path.abspath(__file__))

packages = find_packages(include=["skills", "skills.*"]) + ["skills.report.assets"]
package_dir = {}
package_data = {
    "skills.report.assets": ["*.js", "*.css"],  # the HTML report's own JS and CSS (data only)
    "skills.sandbox": ["stage.c"],  # the sandbox's compiled stage, built on first use
}
for name in RESOURCES:
    for folder, dirs, _files in os.walk(os.path.join(HERE, name)):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        rel = os.path.relpath(folder, HERE)
        pkg = "skills.resources." + rel.replace(os.sep, ".")
        packages.append(pkg)
        package_dir[pkg] = rel.replace(os.sep, "/")
        package_data[pkg] = ["*.yaml", "*.yml"]

setup(packages=packages, package_dir=package_dir, package_data=package_data)
