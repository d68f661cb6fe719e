"""Where upstream files come from: a local mirror, a URL, or the Hugging Face hub.

A mirror (``--mirror`` / ``$SKILLS_DATA_MIRROR``) is laid out like upstream,
``<mirror>/<bench>/<upstream file>``, so air-gapped clusters and CI prepare the same bytes a download
would give. Readers turn corrupt or wrongly shaped files into a ``UsageError`` naming the file.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable, List, Optional

from skills.config.errors import UsageError

MIRROR_ENV = "SKILLS_DATA_MIRROR"
HF_TOKEN_ENVS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def resolve_mirror(mirror: Optional[os.PathLike | str]) -> Optional[Path]:
    """The mirror folder from the argument or ``$SKILLS_DATA_MIRROR``; None means download."""
    value = mirror if mirror not in (None, "") else os.environ.get(MIRROR_ENV) or None
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise UsageError(f"data mirror {path} is not a folder")
    return path


def mirror_file(mirror: Path, bench: str, name: str) -> Path:
    """``<mirror>/<bench>/<name>``; a clear UsageError when the mirror lacks it."""
    path = mirror / bench / name
    if not path.is_file():
        raise UsageError(f"missing mirror file {path} (expected the upstream file {bench}/{name})")
    return path


def hf_token(required: bool, repo: str) -> Optional[str]:
    """HF token from the environment; gated datasets cannot be fetched without one."""
    for var in HF_TOKEN_ENVS:
        if os.environ.get(var):
            return os.environ[var]
    if required:
        raise UsageError(
            f"{repo} is a gated Hugging Face dataset: accept its terms on huggingface.co and set HF_TOKEN "
            f"(or use --mirror / ${MIRROR_ENV} with a local copy)"
        )
    return None


def hf_file(repo: str, filename: str, *, gated: bool, revision: Optional[str] = None) -> Path:
    """Download one file of a HF dataset repo (cached by huggingface_hub, with its own progress bar);
    ``revision`` pins a commit, branch or tag (default: the repo's main branch)."""
    token = hf_token(gated, repo)
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise UsageError("downloading from Hugging Face needs the hf extra: pip install 'skills[hf]'") from None
    try:
        return Path(hf_hub_download(repo_id=repo, filename=filename, repo_type="dataset", token=token,
                                    revision=revision))
    except Exception as exc:  # network, auth or missing-file errors all end the same way for the user
        raise UsageError(f"could not download {filename} from HF dataset {repo}: {exc}".splitlines()[0]) from None


def read_parquet_table(path: Path, columns: Iterable[str]):
    """Only the needed columns of a parquet file; unreadable files or missing columns are UsageErrors."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(columns)
    try:
        names = pq.read_schema(path).names
        missing = [c for c in columns if c not in names]
        if missing:
            raise UsageError(f"{path}: missing columns {', '.join(missing)}")
        return pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise UsageError(f"corrupt parquet file {path}: {exc}".splitlines()[0]) from None


def read_parquet(path: Path, columns: Iterable[str]) -> List[dict]:
    """Rows (dicts) of the needed columns of a parquet file."""
    return read_parquet_table(path, columns).to_pylist()


def read_csv(path: Path, columns: Iterable[str]) -> List[dict]:
    """Rows of a CSV file, empty cells as None (as HF's CSV loader gives them)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in columns if c not in header]
            if missing:
                raise UsageError(f"{path}: wrong CSV header, missing columns {', '.join(missing)}")
            rows = []
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise UsageError(f"{path}:{reader.line_num}: row does not match the CSV header")
                rows.append({k: (v if v != "" else None) for k, v in row.items()})
            return rows
    except (csv.Error, UnicodeDecodeError) as exc:
        raise UsageError(f"corrupt CSV file {path}: {exc}") from None


def hf_split_rows(mirror: Optional[Path], bench: str, repo: str, split: str) -> List[dict]:
    """The rows of one split of a Hugging Face dataset, in its column order, as the reference reads
    them (``datasets.load_dataset(repo)[split]``). A mirror holds them as ``<bench>/<split>.jsonl``
    (one JSON object per row), since the hub's own file names differ from dataset to dataset."""
    if mirror:
        from skills.data.io import read_jsonl

        path = mirror_file(mirror, bench, f"{split}.jsonl")
        rows = read_jsonl(path)
        if not all(isinstance(r, dict) for r in rows):
            raise UsageError(f"{path}: expected one JSON object per line")
        return rows
    try:
        from datasets import load_dataset
    except ImportError:
        raise UsageError("downloading from Hugging Face needs the hf extra: pip install 'skills[hf]'") from None
    try:
        return list(load_dataset(repo, split=split, token=hf_token(False, repo)))
    except Exception as exc:  # network, auth or missing-split errors all end the same way for the user
        raise UsageError(f"could not load split {split!r} of HF dataset {repo}: {exc}".splitlines()[0]) from None
