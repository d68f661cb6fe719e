"""``python -m skills.environments build --jobs N``: environments at the same time, then models."""

import threading
import time

import pytest

from skills.config.errors import UsageError
from skills.environments import build as builder
from skills.environments.spec import Environment, TestModel

ENVS = {n: Environment(name=n, about=n) for n in ("e1", "e2", "e3")}
MODELS = {n: TestModel(name=n, about=n, script="x.py") for n in ("m1", "m2")}


@pytest.fixture
def recorded(monkeypatch):
    events, lock, running = [], threading.Lock(), []

    def fake(item, root):
        with lock:
            running.append(item.name)
            events.append(("start", item.name, tuple(running)))
        builder.BuildContext(root, root, None).run(["echo", f"output of {item.name}"])
        time.sleep(0.2)
        with lock:
            running.remove(item.name)
            events.append(("end", item.name, ()))
        if item.name == "e2":
            raise UsageError("e2 failed")

    monkeypatch.setattr(builder, "find", lambda name: {**ENVS, **MODELS}[name])
    monkeypatch.setattr(builder, "build_environment", fake)
    monkeypatch.setattr(builder, "build_model", fake)
    return events


def test_parallel_builds_overlap_models_wait_and_lines_are_labelled(recorded, capfd, tmp_path):
    with pytest.raises(UsageError, match="e2 failed"):
        builder.build_many(["e1", "e2", "e3", "m1"], jobs=3, root=tmp_path)
    starts = [e for e in recorded if e[0] == "start"]
    assert max(len(e[2]) for e in starts) == 3  # the three environments at once
    assert "m1" not in [e[1] for e in recorded]  # a failed environment: no model is built
    out = capfd.readouterr().out
    assert {"[e1] output of e1", "[e2] output of e2", "[e3] output of e3"} <= set(out.splitlines())


def test_models_start_after_every_environment_ended(recorded, tmp_path):
    builder.build_many(["e1", "e3", "m1", "m2"], jobs=2, root=tmp_path)
    order = [(kind, name) for kind, name, _ in recorded]
    last_env_end = max(i for i, (k, n) in enumerate(order) if k == "end" and n.startswith("e"))
    first_model = min(i for i, (k, n) in enumerate(order) if k == "start" and n.startswith("m"))
    assert last_env_end < first_model


def test_one_job_builds_in_order_without_labels(recorded, capfd, tmp_path):
    builder.build_many(["m1", "e1"], jobs=1, root=tmp_path)
    assert [n for k, n, _ in recorded if k == "start"] == ["m1", "e1"]
    assert "output of m1" in capfd.readouterr().out.splitlines()
