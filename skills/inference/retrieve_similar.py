"""Closest problems for a contamination check: ``python -m skills.inference.retrieve_similar
++retrieve_from=TRAIN.jsonl[,...] ++compare_to=TEST.jsonl[,...] ++output_file=OUT.jsonl ++top_k=3``
(the reference's ``nemo_skills.inference.retrieve_similar``).

The distinct values of ``retrieve_key`` (default ``problem``) in both sets of files (a comma list,
or a space list, of paths or globs) are embedded with a sentence-transformers model (``++model``,
default ``multi-qa-MiniLM-L6-cos-v1``; a name on the Hugging Face hub or a local folder), and for
each ``compare_to`` value the ``top_k`` ``retrieve_from`` values of highest cosine similarity are
written as one line ``{<retrieve_key>: ..., "similar_items": [...], "similarity_scores": [...]}``
(most similar first), the input of ``--generation_type=check_contamination``. To decontaminate a
training set instead, swap the two sets.

Needs the ``sentence-transformers`` package in the interpreter that runs it (not one of skills'
own dependencies) and the model: a hub name is downloaded on first use, so offline pass a folder
(a sentence-transformers model, or any Hugging Face transformers model folder, which
sentence-transformers embeds by mean pooling).
Values are taken in the order first seen (the reference takes them from a set, in no fixed order).
"""

from __future__ import annotations

import glob
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, List, Optional, Sequence

from skills.config.errors import UsageError
from skills.data.io import iter_jsonl


@dataclass
class RetrieveSimilarConfig:
    retrieve_from: Any = None  # files (comma or space list, globs) to find similar items in
    compare_to: Any = None  # files whose items are looked up
    output_file: Optional[str] = None  # one line per distinct compare_to item
    model: str = "multi-qa-MiniLM-L6-cos-v1"  # sentence-transformers model name or folder
    top_k: int = 3
    retrieve_key: str = "problem"
    batch_size: int = 2048  # embedding batch size
    chunk_size: int = 10000  # compare_to rows scored at a time (memory: chunk_size x len(retrieve_from))


def file_list(value: Any, what: str) -> List[str]:
    """Paths of a ``retrieve_from`` / ``compare_to`` value: a list, or a comma (else space) separated
    string; each entry a path or a glob (sorted matches)."""
    if value is None or value == "" or value == []:
        raise UsageError(f"++{what} is required (files to read, comma separated)")
    items = list(value) if isinstance(value, (list, tuple)) else str(value).split("," if "," in str(value) else " ")
    out: List[str] = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        matches = sorted(glob.glob(os.path.expanduser(item))) if glob.has_magic(item) else [os.path.expanduser(item)]
        if not matches or not all(os.path.isfile(m) for m in matches):
            raise UsageError(f"++{what}: no such file: {item}")
        out.extend(matches)
    return out


def read_items(paths: Iterable[str], key: str) -> List[str]:
    """The distinct values of ``key`` in the files, in the order first seen; a line without one fails."""
    seen: dict = {}
    for path in paths:
        for lineno, row in iter_jsonl(Path(path)):
            value = row.get(key) if isinstance(row, dict) else None
            if not value:
                raise UsageError(f"{path}:{lineno}: no '{key}' value (++retrieve_key names the field)")
            seen.setdefault(value, None)
    return list(seen)


def top_k_similar(query_emb: Any, corpus_emb: Any, top_k: int, chunk_size: int):
    """(scores, indices): for each query row, the ``top_k`` corpus rows of highest cosine similarity,
    most similar first; computed ``chunk_size`` query rows at a time."""
    import numpy as np

    def unit(x: Any) -> Any:
        x = np.asarray(x, dtype=np.float32)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.maximum(norms, 1e-12)

    q, c = unit(query_emb), unit(corpus_emb)
    scores, indices = [], []
    for start in range(0, len(q), chunk_size):
        sim = q[start:start + chunk_size] @ c.T
        idx = np.argsort(-sim, axis=1, kind="stable")[:, :top_k]
        indices.append(idx)
        scores.append(np.take_along_axis(sim, idx, axis=1))
    return np.concatenate(scores), np.concatenate(indices)


def load_encoder(model: str):
    try:
        from sentence_transformers import SentenceTransformer  # type: ignore
    except ImportError as exc:
        raise UsageError(f"retrieve_similar needs the sentence-transformers package in this interpreter ({exc}): "
                         "pip install sentence-transformers") from None
    return SentenceTransformer(model)


def retrieve(cfg: RetrieveSimilarConfig) -> int:
    if not cfg.output_file:
        raise UsageError("++output_file is required")
    if cfg.top_k < 1 or cfg.batch_size < 1 or cfg.chunk_size < 1:
        raise UsageError("++top_k, ++batch_size and ++chunk_size must be >= 1")
    corpus = read_items(file_list(cfg.retrieve_from, "retrieve_from"), cfg.retrieve_key)
    queries = read_items(file_list(cfg.compare_to, "compare_to"), cfg.retrieve_key)
    if cfg.top_k > len(corpus):
        raise UsageError(f"++top_k={cfg.top_k} is more than the {len(corpus)} distinct items of ++retrieve_from")
    encoder = load_encoder(cfg.model)
    corpus_emb = encoder.encode(corpus, batch_size=cfg.batch_size, show_progress_bar=True)
    query_emb = encoder.encode(queries, batch_size=cfg.batch_size, show_progress_bar=True)
    scores, indices = top_k_similar(query_emb, corpus_emb, cfg.top_k, cfg.chunk_size)
    out = Path(cfg.output_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fout:
        for i, item in enumerate(queries):
            fout.write(json.dumps({cfg.retrieve_key: item,
                                   "similar_items": [corpus[j] for j in indices[i].tolist()],
                                   "similarity_scores": [float(s) for s in scores[i].tolist()]}) + "\n")
    os.replace(tmp, out)
    print(f"{len(queries)} items with their {cfg.top_k} most similar of {len(corpus)} written to {out}",
          file=sys.stderr)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("--help", "-h") for a in argv):
        print(__doc__)
        return 0
    from skills.config.overrides import apply_overrides

    try:
        return retrieve(apply_overrides(argv, RetrieveSimilarConfig))
    except UsageError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
