"""Runs one of RULER's generator scripts, unchanged, with exact accelerations around it.

``python -m skills.benchmarks.ruler.accel [--verify] SCRIPT [ARGS...]`` (in the ``ruler``
environment) behaves as ``python SCRIPT ARGS...`` and writes the same bytes, faster:

- the tokenizer object the script gets from RULER's ``select_tokenizer`` answers
  ``text_to_tokens`` from ``fasttok.PieceTokenizer`` (the same list as the real call, from cached
  pieces) where the tokenizer's pipeline allows it, else from the real call; the first
  ``CHECKED_CALLS`` answers are compared with the real call and any difference turns the fast path
  off for the rest of the run. A text asked twice in a row (fwe does) is answered from a copy;
- NLTK's ``sent_tokenize`` (the essay haystacks: the same text for every sample of a task) keeps
  its last few answers and returns copies.

``--verify`` compares every answer with the real call and stops the generator (exit code 3) at
the first difference: slow, for tests and doubts. Nothing of RULER is copied or edited: its
``tokenizer.py`` is imported from its own file and only the returned object is wrapped.
"""

from __future__ import annotations

import collections
import importlib.util
import os
import runpy
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from skills.benchmarks.ruler import fasttok

CHECKED_CALLS = 2
SENTENCE_CACHE = 4
PREFIX = "ruler accel:"


def _say(text: str) -> None:
    print(f"{PREFIX} {text}", file=sys.stderr, flush=True)


class TextToTokens:
    """Stands in for a RULER tokenizer's ``text_to_tokens``: the fast engine or the real call."""

    def __init__(self, real: Callable[[str], List], engine: Optional[fasttok.PieceTokenizer], verify: bool) -> None:
        self.real, self.engine, self.verify = real, engine, verify
        self.checks = CHECKED_CALLS
        self.last_text: Optional[str] = None
        self.last_tokens: List = []
        self.calls = self.fast = self.repeats = 0
        self.cpu = 0.0

    def __call__(self, text: str) -> List:
        start = time.process_time()
        self.calls += 1
        try:
            if text == self.last_text:
                self.repeats += 1
                return list(self.last_tokens)
            tokens = self._tokens(text)
            self.last_text, self.last_tokens = text, tokens
            return list(tokens)
        finally:
            self.cpu += time.process_time() - start

    def _tokens(self, text: str) -> List:
        if self.engine is None:
            return self.real(text)
        try:
            fast = self.engine.tokenize(text)
        except Exception as exc:  # never let RULER's bare ``except:`` retry loops see an error of ours
            _say(f"fast path off ({type(exc).__name__}: {exc}); the real tokenizer from here on")
            self.engine = None
            return self.real(text)
        if self.verify or self.checks > 0:
            self.checks -= 1
            truth = self.real(text)
            if truth != fast:
                where = next((i for i, (a, b) in enumerate(zip(truth, fast)) if a != b), min(len(truth), len(fast)))
                _say(f"fast tokens differ from the real ones at token {where} of {len(truth)} (text of "
                     f"{len(text)} characters)" + ("" if self.verify else "; the real tokenizer from here on"))
                if self.verify:
                    sys.stderr.flush()
                    os._exit(3)  # RULER's retry loops catch every exception
                self.engine = None
            return truth
        self.fast += 1
        return fast

    def summary(self) -> str:
        head = f"{self.calls} text_to_tokens calls in {self.cpu:.1f} CPU s"
        if self.engine is None:
            return head + f" (real tokenizer; {self.repeats} repeated texts reused)"
        stats = self.engine.stats
        return (head + f": {self.fast} from cached pieces, {self.repeats} repeated texts reused, "
                f"{stats['chunks'] - stats['chunks_new']} of {stats['chunks']} sentence chunks found cached, "
                f"{stats['pieces_tokenized']} pieces and {stats['islands_tokenized']} non-ASCII spans tokenized, "
                f"{stats['whole']} texts with added tokens tokenized whole, cache started over {stats['restarts']} times"
                + (" (all verified)" if self.verify else ""))


def wrap_tokenizer(tokenizer, verify: bool) -> TextToTokens:
    """Replace ``tokenizer.text_to_tokens`` (a RULER tokenizer object) on this instance."""
    hf = getattr(tokenizer, "tokenizer", None)
    engine = None
    if type(tokenizer).__name__ != "HFTokenizer" or hf is None:
        _say(f"{type(tokenizer).__name__}: not a Hugging Face tokenizer; its calls are not accelerated")
    else:
        try:
            engine = fasttok.PieceTokenizer(hf)
        except fasttok.Unsupported as exc:
            _say(f"{type(hf).__name__} is called as is: {exc}")
    stand_in = TextToTokens(tokenizer.text_to_tokens, engine, verify)
    tokenizer.text_to_tokens = stand_in
    return stand_in


class SentenceCache:
    """``nltk.tokenize.sent_tokenize`` remembering its last answers (a pure function of its input)."""

    def __init__(self, real: Callable) -> None:
        self.real = real
        self.answers: "collections.OrderedDict" = collections.OrderedDict()
        self.calls = self.hits = 0

    def __call__(self, text: str, language: str = "english") -> List[str]:
        self.calls += 1
        key = (text, language)
        found = self.answers.get(key)
        if found is None:
            found = self.answers[key] = self.real(text, language)
            while len(self.answers) > SENTENCE_CACHE:
                self.answers.popitem(last=False)
        else:
            self.hits += 1
            self.answers.move_to_end(key)
        return list(found)


def install(script: Path, verify: bool) -> List[Callable[[], str]]:
    """Hooks for ``script`` (RULER's ``scripts/data/synthetic/<task>.py``); returns summary callbacks."""
    summaries: List[Callable[[], str]] = []
    ruler_tokenizer = script.resolve().parent.parent / "tokenizer.py"
    if importlib.util.find_spec("tokenizer") is not None:  # the script would import that one, not RULER's
        _say("a module named tokenizer is importable before RULER's; tokenization is not accelerated")
    elif ruler_tokenizer.is_file():
        spec = importlib.util.spec_from_file_location("tokenizer", ruler_tokenizer)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules["tokenizer"] = module  # the script's ``from tokenizer import select_tokenizer`` finds it
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        select = module.select_tokenizer

        def select_tokenizer(*args, **kwargs):
            tokenizer = select(*args, **kwargs)
            summaries.append(wrap_tokenizer(tokenizer, verify).summary)
            return tokenizer

        module.select_tokenizer = select_tokenizer
    else:
        _say(f"no {ruler_tokenizer}; tokenization is not accelerated")
    if "sent_tokenize" not in script.read_text(encoding="utf-8", errors="replace"):
        return summaries  # (NLTK costs half a second and 60 MB to import)
    try:
        import nltk.tokenize
    except ImportError:
        return summaries
    cache = SentenceCache(nltk.tokenize.sent_tokenize)
    nltk.tokenize.sent_tokenize = cache
    summaries.append(lambda: f"sent_tokenize: {cache.calls} calls, {cache.hits} answered from the cache")
    return summaries


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verify = bool(args) and args[0] == "--verify"
    args = args[1:] if verify else args
    if not args:
        print("usage: python -m skills.benchmarks.ruler.accel [--verify] SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    script = Path(args[0])
    sys.argv = list(args)
    sys.path[0] = str(script.resolve().parent)  # as ``python SCRIPT`` sets it
    summaries = install(script, verify)
    runpy.run_path(str(script), run_name="__main__")
    for summary in summaries:
        _say(summary())
    _say(f"{script.name}: {time.process_time():.1f} CPU s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
