"""Units of work for parallel runs (``pytest -n N``, as scripts/test.sh runs the suite): what must
run on one worker, and a pytest-xdist scheduler that hands out whole units.

A unit is a shared server's tests (one start), the Slurm tests (one cluster start, no other worker
stopping it under them), the sandbox's own tests (red-team programs never beside its timing-bound
tests), else the test's module (module-scoped fixtures built once).

Why our own scheduler: xdist's ``--dist loadgroup`` appends ``@group`` to a private attribute that
pytest 9.2 no longer reads, so it silently groups nothing (the Slurm tests then ran on both workers,
and one worker stopped the cluster under the other). Here the workers write {node id: unit} while
they collect, into a file the controller names (``pytest_configure_node``), and the controller's
scheduler (xdist's documented ``pytest_xdist_make_scheduler`` hook, on its LoadScope scheduler)
reads it. Units go out in collection order, which tests/conftest.py makes longest first.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from tests.helpers.vllm import server_of

SLURM_UNIT = "slurm"
UNITS_KEY = "skills_units_file"  # workerinput key: where workers write {node id: unit}
_UNITS_FILE = pytest.StashKey[Path]()


def unit_of(item: pytest.Item) -> str:
    """The unit a test belongs to (see the module docstring)."""
    server = server_of(item)
    if server:
        return server
    if "local_slurm" in item.fixturenames:
        return SLURM_UNIT
    if item.module.__name__.startswith("tests.core.sandbox."):
        return "sandbox"
    return item.module.__name__


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def pytest_configure(config: pytest.Config) -> None:
    if _is_controller(config):
        fd, name = tempfile.mkstemp(prefix="skills-test-units-", suffix=".json")
        os.close(fd)
        os.unlink(name)  # written by the workers; its absence means they never wrote it
        config.stash[_UNITS_FILE] = Path(name)


def pytest_unconfigure(config: pytest.Config) -> None:
    path = config.stash.get(_UNITS_FILE, None)
    if path is not None:
        path.unlink(missing_ok=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    node.workerinput[UNITS_KEY] = str(node.config.stash[_UNITS_FILE])


@pytest.hookimpl(trylast=True)  # after -k/-m deselection
def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """Units stay together, the longest first so that two workers end together: the Slurm tests,
    then units with slow tests, then the rest; file order otherwise (one process runs this order too).
    A worker then writes {node id: unit} for the controller's scheduler."""
    rank: Dict[str, int] = {}
    first: Dict[str, int] = {}
    for index, item in enumerate(items):
        unit = unit_of(item)
        first.setdefault(unit, index)
        slow = item.get_closest_marker("slow") is not None
        rank[unit] = min(rank.get(unit, 2), 0 if unit == SLURM_UNIT else 1 if slow else 2)
    items.sort(key=lambda item: (rank[unit_of(item)], first[unit_of(item)]))  # stable within a unit
    target = getattr(config, "workerinput", {}).get(UNITS_KEY)
    if not target:
        return
    units = {item.nodeid: unit_of(item) for item in items}
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".units-")
    with os.fdopen(fd, "w") as out:  # every worker writes the same map: last one wins, atomically
        json.dump(units, out)
    os.replace(tmp, target)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") == "each":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        """LoadScope whose scopes are our units, sent in collection order."""

        _units: Optional[Dict[str, str]] = None

        def _split_scope(self, nodeid: str) -> str:
            if self._units is None:
                path = config.stash[_UNITS_FILE]
                if not path.exists():
                    raise RuntimeError(f"the workers wrote no test units to {path} (tests/helpers/units.py)")
                self._units = json.loads(path.read_text())
            unit = self._units.get(nodeid)
            if unit is None:
                raise RuntimeError(f"no test unit for {nodeid} (tests/helpers/units.py)")
            return unit

    config.option.loadscopereorder = False  # the collection order is already longest first
    return UnitScheduling(config, log)
