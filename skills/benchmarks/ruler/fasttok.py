"""The token list a Hugging Face fast BPE tokenizer gives a text, exactly, from cached pieces.

RULER's generators measure every ~130k-token prompt with ``tokenizer.tokenize(text)`` (and niah
once more up to the answer); the Rust tokenizer spends most of that time in its pre-tokenizer, an
Oniguruma regex over the whole text, while the prompts of a task are mostly the same few thousand
pieces. This computes the same list from the same tokenizer, piece by piece, when its pipeline is
one we can reason about (else ``Unsupported`` says why, and the caller keeps the real call):

- no normalizer (or NFC, the identity on ASCII); a BPE model without dropout; ``tokenize`` as
  transformers defines it (no remote-code override);
- a pre-tokenizer that is a regex split followed by byte-level mapping, with a pattern from
  ``PATTERNS`` (GPT-2's ByteLevel, Llama 3, Qwen2, o200k, Tekken). A BPE model never merges across
  pre-tokenizer pieces, so the tokens of a text are the concatenation of each piece's tokens, and
  the tokens of a piece do not depend on where it stands.

Exactness rests on two facts, both checked by ``tests/benchmarks/ruler/test_accel.py`` against the real
tokenizer on random texts for every pattern:

1. On ASCII text each pattern's ASCII form (``\\p{L}`` -> ``[A-Za-z]``, ``\\p{N}`` -> ``[0-9]``, ...)
   compiled by Python's ``re`` splits exactly like the original compiled by Oniguruma: both are
   leftmost-first backtracking engines and the classes agree on ASCII. So ASCII text is split
   here, and each distinct piece is tokenized once by the real tokenizer (in batches) and cached.
2. A space between two ASCII letters always starts a new piece, and the pieces before and after
   it are those of the two halves tokenized alone: in every pattern no match holds a letter
   followed by a space, none looks behind, and the only lookahead ``(?!\\S)`` follows whitespace.
   So a text with non-ASCII characters is cut at such spaces around them; the ASCII parts go the
   fast way and the small non-ASCII islands through the real tokenizer. And a long text is cut
   into chunks after each sentence's first word (``SENTENCE``, also such a space), each chunk's
   tokens kept: RULER's haystacks repeat the same sentences in every sample, so most of a prompt
   is a few thousand dictionary lookups (text that is mostly new goes by pieces, uncached).

A text holding an added token's content (``<|im_start|>``...) goes through the real call whole.
The caller (``accel``) also compares the first calls with the real ones and falls back for good on
any difference. Runs inside RULER's environment: standard library only, the tokenizer is given.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from itertools import chain
from typing import Dict, List, Optional, Tuple

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3 = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2 = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
_UPPER, _LOWER = r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]", r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"
_SUFFIX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
O200K = (rf"""[^\r\n\p{{L}}\p{{N}}]?{_UPPER}*{_LOWER}+{_SUFFIX}|[^\r\n\p{{L}}\p{{N}}]?{_UPPER}+{_LOWER}*{_SUFFIX}|"""
         r"""\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
TEKKEN = (rf"""[^\r\n\p{{L}}\p{{N}}]?{_UPPER}*{_LOWER}+|[^\r\n\p{{L}}\p{{N}}]?{_UPPER}+{_LOWER}*|"""
          r"""\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+""")

# pattern -> the same pattern on ASCII text, for Python's re with re.ASCII (\s is then [ \t\n\r\f\v])
_A_SUFFIX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
PATTERNS: Dict[str, str] = {
    GPT2: r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""",
    LLAMA3: r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]{1,3}| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    QWEN2: r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    O200K: (rf"""[^\r\nA-Za-z0-9]?[A-Z]*[a-z]+{_A_SUFFIX}|[^\r\nA-Za-z0-9]?[A-Z]+[a-z]*{_A_SUFFIX}|"""
            r"""[0-9]{1,3}| ?[^\sA-Za-z0-9]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"""),
    TEKKEN: (r"""[^\r\nA-Za-z0-9]?[A-Z]*[a-z]+|[^\r\nA-Za-z0-9]?[A-Z]+[a-z]*|"""
             r"""[0-9]| ?[^\sA-Za-z0-9]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"""),
}

CUT = re.compile(r"(?<=[A-Za-z]) (?=[A-Za-z])")  # a piece always starts at such a space
# Chunk ends: after a sentence's first word, at a cut ("... green. The| sky"): where a long text's
# sentences repeat from sample to sample (RULER's haystacks), whole chunks are looked up at once.
SENTENCE = re.compile(r"[.!?]\s+[A-Z][a-z]*(?= [A-Za-z])", re.ASCII)
NON_ASCII = re.compile(r"[^\x00-\x7f]+")
TRANSFORMERS_METHODS = ("tokenize", "_encode_plus", "_batch_encode_plus", "_convert_encoding")
MAX_CACHED = 400_000  # cached pieces and islands before the cache starts over (~60-100 MB)
MAX_CHUNKS = 100_000  # cached chunks (~50 MB)
MAX_CHUNK_CHARS = 4096  # longer chunks (text without sentences: cwe, fwe) are not kept
LEARNING = 2_000  # chunks cached whatever the hit rate, while the cache holds fewer than this
SKIP_AFTER_NEW = 8  # after a mostly new text, the calls that skip the chunks


class Unsupported(Exception):
    """The tokenizer's pipeline is not one this module can reproduce exactly."""


def _state(component) -> Optional[dict]:
    return None if component is None else json.loads(component.__getstate__())


def ascii_pattern(backend) -> Tuple[str, bool]:
    """(ASCII form of the split pattern, whether the normalizer is NFC) of a ``tokenizers.Tokenizer``,
    or Unsupported."""
    norm = _state(backend.normalizer)
    if norm is not None and norm.get("type") != "NFC":
        raise Unsupported(f"normalizer {norm.get('type')}")
    pre = _state(backend.pre_tokenizer)
    if pre is None:
        raise Unsupported("no pre-tokenizer (BPE over the whole text)")
    if pre.get("type") == "ByteLevel" and pre.get("use_regex", True):
        pattern, tail = GPT2, pre
    elif pre.get("type") == "Sequence" and len(pre.get("pretokenizers", [])) == 2:
        split, tail = pre["pretokenizers"]
        if (split.get("type") != "Split" or "Regex" not in split.get("pattern", {})
                or split.get("behavior") != "Isolated" or split.get("invert")):
            raise Unsupported(f"pre-tokenizer {json.dumps(split)[:120]}")
        pattern = split["pattern"]["Regex"]
        if tail.get("type") != "ByteLevel" or tail.get("use_regex", True):
            raise Unsupported(f"pre-tokenizer step {tail.get('type')} after the split")
    else:
        raise Unsupported(f"pre-tokenizer {pre.get('type')}")
    if tail.get("add_prefix_space"):
        raise Unsupported("ByteLevel add_prefix_space")
    if pattern not in PATTERNS:
        raise Unsupported(f"split pattern {pattern[:60]}... is not one of the known ones")
    model = backend.model
    if type(model).__name__ != "BPE" or getattr(model, "dropout", None):
        raise Unsupported(f"model {type(model).__name__}" + (" with dropout" if type(model).__name__ == "BPE" else ""))
    return PATTERNS[pattern], norm is not None


class PieceTokenizer:
    """``tokenize(text)`` of ``hf`` (a transformers fast tokenizer), computed from cached pieces."""

    def __init__(self, hf) -> None:
        backend = getattr(hf, "backend_tokenizer", None)
        if backend is None:
            raise Unsupported(f"{type(hf).__name__} is not a fast (Rust) tokenizer")
        for name in TRANSFORMERS_METHODS:
            method = getattr(type(hf), name, None)
            if method is not None and not getattr(method, "__module__", "").startswith("transformers."):
                raise Unsupported(f"{type(hf).__name__}.{name} is overridden outside transformers")
        pattern, self.nfc = ascii_pattern(backend)
        self.hf, self.backend = hf, backend
        self.split = re.compile(pattern, re.ASCII).findall
        hf.tokenize("a")  # the backend now has the settings the real call uses (no truncation, no padding)
        if backend.truncation is not None or backend.padding is not None:
            raise Unsupported("the tokenizer truncates or pads")
        contents = sorted({t.content for t in backend.get_added_tokens_decoder().values() if t.content}, key=len,
                          reverse=True)
        self.added = re.compile("|".join(map(re.escape, contents))) if contents else None
        self.added_first = {c[0] for c in contents}
        self.cache: Dict[str, Tuple[str, ...]] = {}  # ASCII piece or non-ASCII island -> its tokens
        self.chunks: Dict[str, Tuple[str, ...]] = {}  # ASCII chunk or non-ASCII island -> its tokens
        self.skip = 0  # calls left that go straight to the pieces
        self.stats = {"pieces_tokenized": 0, "islands_tokenized": 0, "whole": 0, "restarts": 0, "chunks": 0,
                      "chunks_new": 0}

    def _has_added(self, text: str) -> bool:
        if self.added is None:
            return False
        if any(c in text for c in self.added_first) and self.added.search(text):
            return True
        if self.nfc and not text.isascii():
            normal = unicodedata.normalize("NFC", text)
            return normal != text and self.added.search(normal) is not None
        return False

    def _fill(self, units: List[str]) -> None:
        """Tokenize the ``units`` not cached yet (the real tokenizer, one batch); a full cache starts over."""
        cache = self.cache
        missing = [u for u in dict.fromkeys(units) if u not in cache]
        for unit in missing:  # an ASCII piece split alone stays one piece (true of these patterns)
            if unit.isascii() and self.split(unit) != [unit]:
                raise Unsupported(f"piece {unit!r} does not split into itself")
        if len(cache) + len(missing) > MAX_CACHED:
            cache.clear()
            self.stats["restarts"] += 1
            missing = list(dict.fromkeys(units))
        for unit, enc in zip(missing, self.backend.encode_batch(missing, add_special_tokens=False)):
            cache[unit] = tuple(map(sys.intern, enc.tokens))  # one string object per token name
        islands = sum(not u.isascii() for u in missing)
        self.stats["pieces_tokenized"] += len(missing) - islands
        self.stats["islands_tokenized"] += islands

    @staticmethod
    def _cut_before(text: str, pos: int) -> int:
        """The last cut before ``pos`` (0: none)."""
        width = 256
        while True:
            low = max(0, pos - width)
            found = [m.start() for m in CUT.finditer(text, low, pos)]
            if found or low == 0:
                return found[-1] if found else 0
            width *= 8

    def _segments(self, text: str) -> List[Tuple[int, int, bool]]:
        """(start, end, ascii) spans covering ``text``: each non-ASCII run widened to the nearest cuts."""
        islands: List[List[int]] = []
        for run in NON_ASCII.finditer(text):
            if islands and run.start() < islands[-1][1]:
                start = islands[-1][0]
                islands.pop()
            else:
                start = self._cut_before(text, run.start())
            after = CUT.search(text, run.end())
            islands.append([start, after.start() if after else len(text)])
        spans, pos = [], 0
        for start, end in islands:
            if start > pos:
                spans.append((pos, start, True))
            spans.append((start, end, False))
            pos = end
        if pos < len(text):
            spans.append((pos, len(text), True))
        return spans

    def _units(self, spans: List[Tuple[str, bool]]) -> List[str]:
        """ASCII pieces and non-ASCII islands of consecutive (text, ascii) spans."""
        units: List[str] = []
        for part, plain in spans:
            if plain:
                units += self.split(part)
            else:
                units.append(part)
        return units

    def _pieces(self, units: List[str]) -> List[str]:
        try:
            return list(chain.from_iterable(map(self.cache.__getitem__, units)))
        except KeyError:
            self._fill(units)
            return list(chain.from_iterable(map(self.cache.__getitem__, units)))

    def _chunked(self, spans: List[Tuple[str, bool]], chunks: List[Tuple[str, bool]]) -> List[str]:
        """The tokens of ``chunks`` when some are not cached: new ones are cached unless most of
        the text is new (then it is text the cache would not see again: pieces only)."""
        found = self.chunks
        distinct = dict.fromkeys(chunks)
        missing = [c for c in distinct if c[0] not in found]
        if 2 * len(missing) > len(distinct) and len(found) >= LEARNING:
            self.skip = SKIP_AFTER_NEW  # new text: the next few calls likely too, skip the chunks
            return self._pieces(self._units(spans))
        keep = [c for c in missing if len(c[0]) <= MAX_CHUNK_CHARS]
        if len(found) + len(keep) > MAX_CHUNKS:
            found.clear()
            self.stats["restarts"] += 1
            return self._pieces(self._units(spans))
        split = [self.split(c) if plain else [c] for c, plain in keep]
        self._fill(list(chain.from_iterable(split)))
        cache = self.cache
        for (chunk, _), pieces in zip(keep, split):
            found[chunk] = tuple(chain.from_iterable(map(cache.__getitem__, pieces)))
        self.stats["chunks_new"] += len(keep)
        out: List[str] = []
        for chunk, plain in chunks:
            tokens = found.get(chunk)
            out.extend(tokens if tokens is not None else self._pieces(self._units([(chunk, plain)])))
        return out

    def tokenize(self, text: str) -> List[str]:
        if self._has_added(text):
            self.stats["whole"] += 1
            return self.hf.tokenize(text)
        spans = [(text, True)] if text.isascii() else [(text[a:b], plain) for a, b, plain in self._segments(text)]
        if self.skip:
            self.skip -= 1
            return self._pieces(self._units(spans))
        chunks: List[Tuple[str, bool]] = []  # ASCII spans cut at SENTENCE ends, islands whole
        for part, plain in spans:
            if not plain:
                chunks.append((part, False))
                continue
            start = 0
            for end in SENTENCE.finditer(part):
                chunks.append((part[start:end.end()], True))
                start = end.end()
            if start < len(part):
                chunks.append((part[start:], True))
        self.stats["chunks"] += len(chunks)
        try:
            return list(chain.from_iterable(map(self.chunks.__getitem__, [c for c, _ in chunks])))
        except KeyError:
            return self._chunked(spans, chunks)
