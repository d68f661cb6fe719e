"""Google's official IFEval checker, run inside the grader environment ``ifbench``.

The fetched ``instruction_following_eval`` package is imported from its folder and its own
``test_instruction_following_strict`` / ``_loose`` grade the rows, fed as the reference's
``evaluation_main`` feeds them: the response looked up by prompt over the whole file
(``read_prompt_to_response_dict``: the last row with a prompt wins), every row strict, then every
row loose, each result the ``OutputExample``'s public attributes in ``dir()`` order (as
``write_outputs`` writes them). NLTK reads only the staged folder; sockets refuse to connect.

langdetect (the language and letter-case checks) draws random numbers; the reference leaves it
unseeded, so its verdict on a borderline text can change from run to run. We seed it
(``langdetect_seed``, 0 by default; None leaves it unseeded as the reference): a regrade gives the
same verdicts, each one the reference can give.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List, Optional


def load(code_dir: Path, nltk_folder: Path, langdetect_seed: Optional[int] = 0):
    """The official ``evaluation_lib`` (imported once; the NLTK folder first on NLTK's path)."""
    import nltk
    from langdetect import DetectorFactory

    DetectorFactory.seed = langdetect_seed

    from skills.benchmarks.ifbench.checkers import forbid_network

    forbid_network()
    if str(nltk_folder) not in nltk.data.path:
        nltk.data.path.insert(0, str(nltk_folder))
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    from instruction_following_eval import evaluation_lib  # type: ignore[import-not-found]

    return evaluation_lib


def as_written(output: Any) -> Dict[str, Any]:
    """An ``OutputExample`` as the official ``write_outputs`` turns it into JSON."""
    return {name: getattr(output, name) for name in dir(output) if not name.startswith("_")}


def grade(rows: List[dict], key: str, code_dir: Path, nltk_folder: Path, langdetect_seed: Optional[int] = 0) -> None:
    lib = load(code_dir, nltk_folder, langdetect_seed)
    inputs = [lib.InputExample(key=r["key"], instruction_id_list=r["instruction_id_list"], prompt=r["prompt"],
                               kwargs=r["kwargs"]) for r in rows]
    prompt_to_response = {r["prompt"]: r[key] for r in rows}
    results = {}
    for mode, func in (("strict", lib.test_instruction_following_strict),
                       ("loose", lib.test_instruction_following_loose)):
        results[mode] = [as_written(func(inp, prompt_to_response)) for inp in inputs]
    for row, loose, strict in zip(rows, results["loose"], results["strict"]):
        row["loose_eval"] = loose
        row["strict_eval"] = strict
