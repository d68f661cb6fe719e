"""The code sandbox as a job sidecar (``--with_sandbox``, a benchmark's ``requires_sandbox``, a
grader's ``sidecars=("sandbox",)``): the service runs next to the job's commands, which reach it
through ``$SKILLS_SANDBOX_URL``. Untrusted code runs with the cluster config's ``sandbox``
environment (``environments: {sandbox: {venv: ...}}``, or the repository's ``.venv-sandbox``)
when there is one: the packages programs may import (numpy, scipy, h5py, ...) live there.
Graders may let programs read files of the job's data folder (``read_only``, e.g. SciCode's
numeric targets); nothing outside it."""

from skills.servers.sidecars import Sidecar
from skills.sandbox.client import URL_ENV
from skills.sandbox.executor import PYTHON_ENV, READ_ONLY_ROOTS_ENV

SANDBOX = Sidecar(
    name="sandbox",
    command="python -m skills.sandbox.server --host 127.0.0.1 --port {port}",
    client_env={URL_ENV: "http://127.0.0.1:{port}"},
    environment="sandbox",
    env={PYTHON_ENV: "{python}", READ_ONLY_ROOTS_ENV: "{data_dir}"},
)
