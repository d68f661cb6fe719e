"""The NLTK data IFBench's checkers load, staged once so that grading never downloads anything.

The checkers call ``nltk.download(...)`` inside ``check_following`` and read three resources:
``punkt_tab`` (``word_tokenize``), ``stopwords`` and ``averaged_perceptron_tagger_eng``
(``pos_tag``). ``ns prepare_data ifbench`` copies them into ``<data_dir>/nltk_data`` from the mirror
(``<mirror>/nltk_data``, NLTK's own layout) or downloads NLTK's packages; the grader then looks
there (or in ``++eval_config.nltk_data``, or ``$NLTK_DATA``). Standard library only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from skills.benchmarks.ifbench import NLTK_PROBES
from skills.config.errors import UsageError

# NLTK's package server (what nltk.download reads); the packages are zips of <id>/ under <kind>/.
PACKAGE_URL = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/{kind}/{id}.zip"
SETUP_HINT = "run `ns prepare_data ifbench` (stages <data_dir>/nltk_data) or pass ++eval_config.nltk_data=DIR"


@dataclass(frozen=True)
class Resource:
    id: str  # nltk.download id
    kind: str  # folder under the NLTK data root
    probe: str  # path whose presence means "installed" (what nltk.data.find is asked for)


RESOURCES = (
    Resource("punkt_tab", "tokenizers", NLTK_PROBES[0]),
    Resource("stopwords", "corpora", NLTK_PROBES[1]),
    Resource("averaged_perceptron_tagger_eng", "taggers", NLTK_PROBES[2]),
)


def missing(folder: Path) -> List[str]:
    """Ids of the resources ``folder`` lacks (all of them when it does not exist)."""
    return [r.id for r in RESOURCES if not (Path(folder) / r.probe).exists()]


def find(explicit: Optional[str], data_dir: Optional[str]) -> Path:
    """The folder grading uses: ``explicit`` alone when given, else ``<data_dir>/nltk_data``, else an
    entry of ``$NLTK_DATA`` holding all three resources; a one-line error otherwise."""
    if explicit:
        candidates = [Path(explicit).expanduser()]
    else:
        from skills.data import default_data_dir

        candidates = [Path(data_dir or default_data_dir()) / "nltk_data"]
        candidates += [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    for folder in candidates:
        if not missing(folder):
            return folder
    where = ", ".join(str(c) for c in candidates)
    need = ", ".join(r.id for r in RESOURCES)
    raise UsageError(f"IFBench grading needs the NLTK data {need}, not found in {where}: {SETUP_HINT}")


def stage(dest: Path, mirror: Optional[Path]) -> Path:
    """Put every resource ``dest`` lacks there, from ``<mirror>/nltk_data`` or NLTK's server."""
    dest = Path(dest)
    lacking = missing(dest)
    for res in RESOURCES:
        if res.id not in lacking:
            continue
        target = dest / res.kind / res.id
        (dest / res.kind).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest / res.kind, prefix=f".{res.id}.") as tmp:
            if mirror is not None:
                src = mirror / "nltk_data" / res.kind / res.id
                if not (mirror / "nltk_data" / res.probe).exists():
                    raise UsageError(f"missing mirror folder {src} (NLTK's {res.id} package, unzipped)")
                shutil.copytree(src, Path(tmp) / res.id)
            else:
                _download(res, Path(tmp))
            if target.exists():  # a partial copy from an older tool: replace it whole
                shutil.rmtree(target)
            os.replace(Path(tmp) / res.id, target)
    return dest


def _download(res: Resource, into: Path) -> None:
    from skills.data.io import download

    url = PACKAGE_URL.format(kind=res.kind, id=res.id)
    archive = download(url, into / f"{res.id}.zip")
    try:
        with zipfile.ZipFile(archive) as zf:
            _check_members(zf.namelist(), res.id, url)
            zf.extractall(into)
    except zipfile.BadZipFile:
        raise UsageError(f"{url}: not a zip archive") from None
    if not (into / res.probe.split("/", 1)[1]).exists():
        raise UsageError(f"{url}: the archive lacks {res.probe}")


def _check_members(names: Sequence[str], top: str, url: str) -> None:
    for name in names:
        parts = Path(name).parts
        if not parts or parts[0] != top or ".." in parts or Path(name).is_absolute():
            raise UsageError(f"{url}: unexpected archive member {name!r}")
