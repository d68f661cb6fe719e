"""RULER's generators run through ``skills.benchmarks.ruler.accel`` write the same bytes as bare.

The fast token lists (``fasttok``) rest on two facts about each supported pre-tokenizer pattern,
checked here directly on pieces against the real (Oniguruma) pre-tokenizer of ``tokenizers``:
the ASCII form splits ASCII text like the original, and a space between two ASCII letters is a cut
(the pieces of a text are those of its two halves). Then the token lists themselves against the
real ``tokenize`` (synthetic BPE tokenizers for every pattern, SmolLM2's real one), the fallbacks
of the wrapper, and at last RULER's own generators prepared with and without acceleration (SmolLM2
at 4096 tokens): byte-identical files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import transformers
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from tests.helpers.paths import REPO_ROOT
from tests.helpers.prereqs import environment_or_missing, missing
from skills.benchmarks.ruler import accel, fasttok


SMOLLM2 = REPO_ROOT / ".cache" / "models" / "smollm2-135m-instruct"
PATTERNS = {"gpt2": fasttok.GPT2, "llama3": fasttok.LLAMA3, "qwen2": fasttok.QWEN2, "o200k": fasttok.O200K,
            "tekken": fasttok.TEKKEN}
ASCII_ATOMS = [chr(i) for i in range(128)] + ["'s", "'S", "'ll", "'Re", " ", " ", "  ", "   ", "\n", "\n\n", "\r\n",
                                              " \n", "The", " cat", "HTTPServer", "12", "1234567", "x1", "a.b", " /"]
OTHER_ATOMS = list("éñüÉ’“”—…ſKΩ漢字ǅʰ\u0301\u00a0\u2028\u0085\u3000") + ["e\u0301", "naïve", "déjà vu"]
WORDS = ["word", "Hello", "abc", "x", "THE", "end.", "it's", "déjà", "vu", "12", "Kelvin"]


def random_text(rng: random.Random, non_ascii: bool, n: int = 40) -> str:
    atoms = ASCII_ATOMS + (OTHER_ATOMS * 4 if non_ascii else [])
    text = "".join(rng.choice(atoms) for _ in range(rng.randint(0, n)))
    if rng.random() < 0.5:  # letters around spaces, where the cuts are
        words = [w for w in WORDS if non_ascii or w.isascii()]
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) + text
    return text


def _bytes_to_unicode() -> dict:
    """GPT-2's byte -> character table (what ByteLevel maps each byte of a piece to)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {b: chr(b) for b in keep}, 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_CHARS = _bytes_to_unicode()


def byte_level(piece: str) -> str:
    return "".join(BYTE_CHARS[b] for b in piece.encode("utf-8"))


def pre_tokenizer(pattern: str):
    if pattern == fasttok.GPT2:
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
                                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])


def pieces(pre, text: str) -> list:
    return [p for p, _ in pre.pre_tokenize_str(text)]


def test_the_known_patterns_are_the_published_ones():
    """As tokenizer.json files spell them (Meta-Llama-3; Mistral-NeMo, also NeMo's tiktoken pattern;
    GPT-4o's o200k): a pattern that differs by one character is simply not accelerated."""
    published = {
        "llama3": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+""",
        "tekken": r"""[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+""",
        "o200k": r"""[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+""",
    }
    for name, spelled in published.items():
        assert json.loads(f'"{spelled}"') == PATTERNS[name], name
    assert set(fasttok.PATTERNS) == set(PATTERNS.values())


# -- the two facts, on pieces ---------------------------------------------------------------------

def _ascii_mismatches(pattern: str, ascii_form: str, count: int = 3000) -> int:
    pre, split, rng = pre_tokenizer(pattern), re.compile(ascii_form, re.ASCII).findall, random.Random(3)
    texts = [random_text(rng, non_ascii=False) for _ in range(count)]
    return sum(pieces(pre, t) != [byte_level(p) for p in split(t)] for t in texts)


@pytest.mark.parametrize("name", PATTERNS)
def test_ascii_form_splits_ascii_text_like_the_real_pre_tokenizer(name):
    assert _ascii_mismatches(PATTERNS[name], fasttok.PATTERNS[PATTERNS[name]]) == 0


@pytest.mark.parametrize("mutate", [lambda p: p.replace("(?!\\S)", ""), lambda p: p.replace("\\s", "[ \\t\\n\\r\\f]"),
                                    lambda p: p.replace("'s|", "")])
def test_the_piece_check_sees_a_wrong_ascii_form(mutate):
    """What the check above catches: a lost lookahead, a \\s without \\v, a lost contraction."""
    assert _ascii_mismatches(fasttok.GPT2, mutate(fasttok.PATTERNS[fasttok.GPT2]), 500) > 0


@pytest.mark.parametrize("name", PATTERNS)
def test_a_space_between_ascii_letters_is_a_cut(name):
    pre, rng, checked = pre_tokenizer(PATTERNS[name]), random.Random(5), 0
    for _ in range(1500):
        text = random_text(rng, non_ascii=True)
        whole = pieces(pre, text)
        for cut in fasttok.CUT.finditer(text):
            q = cut.start()
            assert pieces(pre, text[:q]) + pieces(pre, text[q:]) == whole, (text, q)
            checked += 1
    assert checked > 1000
    # not every space is a cut: in a run of spaces, the run splits differently alone
    assert pieces(pre, "x   y") != pieces(pre, "x ") + pieces(pre, "  y")


# -- token lists ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def synthetic(pattern: str, nfc: bool):
    """A byte-level BPE tokenizer with ``pattern``, trained on texts like the checked ones (so whitespace
    runs, digits and contractions have merges), an added token, wrapped as transformers wraps one."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer(pattern)
    if nfc:
        tok.normalizer = normalizers.NFC()
    rng = random.Random(11)
    corpus = [random_text(rng, non_ascii=True, n=200) for _ in range(3000)]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=3000, special_tokens=["<|x|>"], show_progress=False,
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok)


def _check_tokens(hf, seed: int, count: int) -> fasttok.PieceTokenizer:
    engine, rng = fasttok.PieceTokenizer(hf), random.Random(seed)
    for i in range(count):
        text = random_text(rng, non_ascii=i % 2 == 1, n=80)
        if i % 50 == 0:
            text += " <|x|> <|im_start|>"
        assert engine.tokenize(text) == hf.tokenize(text), text
    long = " ".join(random_text(rng, non_ascii=True) for _ in range(2000))
    assert engine.tokenize(long) == hf.tokenize(long)
    return engine


@pytest.mark.parametrize("nfc", [False, True])
@pytest.mark.parametrize("name", PATTERNS)
def test_token_lists_equal_the_real_call(name, nfc):
    engine = _check_tokens(synthetic(PATTERNS[name], nfc), seed=7, count=1000)
    assert engine.stats["pieces_tokenized"] > 0 and engine.stats["islands_tokenized"] > 0 and engine.stats["whole"] > 0


def test_a_full_cache_starts_over(monkeypatch):
    monkeypatch.setattr(fasttok, "MAX_CACHED", 60)
    engine = _check_tokens(synthetic(fasttok.GPT2, False), seed=8, count=300)
    assert engine.stats["restarts"] > 10


SENTENCES = ["The grass is green.", "The sky is blue!", "Is it?", "Déjà vu.", "Here we go. There and back again.",
             "It's 12 o'clock.\nThe end.", "One of the magic numbers for x-y is: 1234567."]


@pytest.mark.parametrize("limits", [{}, {"MAX_CHUNKS": 40, "LEARNING": 10, "MAX_CHUNK_CHARS": 60, "SKIP_AFTER_NEW": 0},
                                    {"LEARNING": 1, "SKIP_AFTER_NEW": 2}])
def test_texts_of_repeated_sentences_equal_the_real_call(limits, monkeypatch):
    """Haystacks of sentences with a few new ones inserted (RULER's): whole chunks come from the
    cache, through every path (learning, mostly new text, a full chunk cache, too long chunks)."""
    for name, value in limits.items():
        monkeypatch.setattr(fasttok, name, value)
    hf = synthetic(fasttok.O200K, False)
    engine, rng = fasttok.PieceTokenizer(hf), random.Random(4)
    haystacks = [" ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 200))) for _ in range(5)]
    for i in range(400):
        text = rng.choice(haystacks)
        for _ in range(rng.randint(0, 3)):
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice([" New words here.", random_text(rng, non_ascii=True), "\n"]) + text[at:]
        text = text[:rng.randint(0, len(text))] if i % 3 == 0 else text  # niah's prefix up to the answer
        assert engine.tokenize(text) == hf.tokenize(text), text
    assert 0 < engine.stats["chunks_new"] < engine.stats["chunks"] / 2


def test_token_lists_of_smollm2_equal_the_real_call():
    if not (SMOLLM2 / ".done").exists():
        missing(f"no SmolLM2 model at {SMOLLM2} (scripts/setup.sh converts it)")
    hf = transformers.AutoTokenizer.from_pretrained(str(SMOLLM2))
    engine = _check_tokens(hf, seed=9, count=1500)
    haystack = "\n".join(["The grass is green. The sky is blue."] * 3000)
    assert engine.tokenize(haystack) == hf.tokenize(haystack)
    before = dict(engine.stats)
    assert engine.tokenize(haystack.replace("sky", "sea", 1)) == hf.tokenize(haystack.replace("sky", "sea", 1))
    assert engine.stats["pieces_tokenized"] - before["pieces_tokenized"] <= 1  # only " sea" was new


@pytest.mark.parametrize("change, reason", [
    (lambda t: setattr(t, "pre_tokenizer", pre_tokenizers.Metaspace()), "pre-tokenizer Metaspace"),
    (lambda t: setattr(t, "pre_tokenizer", None), "no pre-tokenizer"),
    (lambda t: setattr(t, "pre_tokenizer", pre_tokenizer(r"\w+|\s+")), "not one of the known ones"),
    (lambda t: setattr(t, "normalizer", normalizers.Lowercase()), "normalizer Lowercase"),
    (lambda t: setattr(t, "model", models.BPE(dropout=0.1)), "with dropout"),
    (lambda t: setattr(t, "model", models.WordPiece({"[UNK]": 0}, unk_token="[UNK]")), "model WordPiece"),
    (lambda t: setattr(t, "pre_tokenizer", pre_tokenizers.ByteLevel(add_prefix_space=True)), "add_prefix_space"),
])
def test_other_pipelines_are_left_to_the_real_call(change, reason):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer(fasttok.GPT2)
    change(tok)
    with pytest.raises(fasttok.Unsupported, match=reason):
        fasttok.PieceTokenizer(transformers.PreTrainedTokenizerFast(tokenizer_object=tok))
    slow = type("SlowTokenizer", (), {"tokenize": lambda self, text: list(text)})()
    with pytest.raises(fasttok.Unsupported, match="not a fast"):
        fasttok.PieceTokenizer(slow)


# -- the wrapper ----------------------------------------------------------------------------------

class Engine:
    def __init__(self, answer):
        self.answer, self.calls = answer, 0
        self.stats = {"pieces_tokenized": 0, "islands_tokenized": 0, "whole": 0, "restarts": 0, "chunks": 0,
                      "chunks_new": 0}

    def tokenize(self, text):
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer(text)


def real(text):
    return text.split()


def test_a_difference_turns_the_fast_path_off(capsys):
    stand_in = accel.TextToTokens(real, Engine(lambda t: t.split() + ["x"]), verify=False)
    assert stand_in("a b") == ["a", "b"]  # the real answer, and the fast path is off
    assert stand_in.engine is None and stand_in("c d") == ["c", "d"]
    assert "differ from the real ones at token 2 of 2" in capsys.readouterr().err


def test_checked_calls_then_fast(capsys):
    engine = Engine(lambda t: t.split())
    stand_in = accel.TextToTokens(real, engine, verify=False)
    for text in ("a", "b", "c d", "e"):
        assert stand_in(text) == real(text)
    assert (engine.calls, stand_in.fast, stand_in.engine is engine) == (4, 4 - accel.CHECKED_CALLS, True)
    assert "4 text_to_tokens calls" in stand_in.summary() and "2 from cached pieces" in stand_in.summary()


def test_an_error_of_the_fast_path_is_never_raised(capsys):
    stand_in = accel.TextToTokens(real, Engine(fasttok.Unsupported("odd piece")), verify=False)
    assert stand_in("a b") == ["a", "b"] and stand_in.engine is None
    assert "fast path off (Unsupported: odd piece)" in capsys.readouterr().err


def test_verify_stops_the_generator_at_a_difference(monkeypatch, capsys):
    def exit_(code):
        raise SystemExit(code)

    monkeypatch.setattr(accel.os, "_exit", exit_)
    stand_in = accel.TextToTokens(real, Engine(lambda t: t.split() if t != "bad one" else ["bad"]), verify=True)
    for text in ("a", "b", "c", "d"):
        stand_in(text)
    with pytest.raises(SystemExit) as stop:
        stand_in("bad one")
    assert stop.value.code == 3 and "differ from the real ones" in capsys.readouterr().err


def test_a_repeated_text_gets_a_copy():
    engine = Engine(lambda t: t.split())
    stand_in = accel.TextToTokens(real, engine, verify=False)
    first = stand_in("x y")
    first.append("mutated")
    assert stand_in("x y") == ["x", "y"] and stand_in.repeats == 1 and engine.calls == 1


def test_sentence_cache_returns_copies_and_forgets_old_texts():
    calls = []
    cache = accel.SentenceCache(lambda text, language: calls.append(text) or text.split("."))
    first = cache("a.b")
    first.append("mutated")
    assert cache("a.b") == ["a", "b"] and calls == ["a.b"]
    for i in range(accel.SENTENCE_CACHE):
        cache(f"{i}.x")
    cache("a.b")
    assert calls == ["a.b", *(f"{i}.x" for i in range(accel.SENTENCE_CACHE)), "a.b"] and cache.hits == 1


FAKE_TOKENIZER = """
class HFTokenizer:
    def __init__(self, model_path):
        from transformers import AutoTokenizer
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)

    def text_to_tokens(self, text):
        return self.tokenizer.tokenize(text)


def select_tokenizer(tokenizer_type, tokenizer_path):
    return HFTokenizer(tokenizer_path)
"""
FAKE_GENERATOR = """
import os, sys
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tokenizer import select_tokenizer
from helper import WORDS
TOKENIZER = select_tokenizer("hf", sys.argv[1])
if __name__ == "__main__":
    text = " ".join(WORDS * 200) + " naïve déjà"
    print("rows", sys.argv[1:], len(TOKENIZER.text_to_tokens(text)), TOKENIZER.text_to_tokens(text)[-4:])
"""


def test_accel_runs_the_script_as_python_would(tmp_path):
    """A RULER-like layout (``data/tokenizer.py``, ``data/synthetic/<script>.py`` importing a sibling
    module): same output as ``python script.py``, the tokenizer object's calls answered fast."""
    synthetic(fasttok.GPT2, False).save_pretrained(tmp_path / "tok")
    (tmp_path / "data" / "synthetic").mkdir(parents=True)
    (tmp_path / "data" / "tokenizer.py").write_text(FAKE_TOKENIZER)
    (tmp_path / "data" / "synthetic" / "helper.py").write_text("WORDS = ['The', 'grass', 'is', 'green.']\n")
    script = tmp_path / "data" / "synthetic" / "gen.py"
    script.write_text(FAKE_GENERATOR)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    bare = subprocess.run([sys.executable, str(script), str(tmp_path / "tok"), "x"], capture_output=True, text=True,
                          env=env, cwd=tmp_path)
    fast = subprocess.run([sys.executable, "-m", "skills.benchmarks.ruler.accel", str(script), str(tmp_path / "tok"),
                           "x"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bare.returncode == 0 and fast.returncode == 0, bare.stderr[-2000:] + fast.stderr[-2000:]
    assert "rows" in bare.stdout and fast.stdout == bare.stdout
    assert "ruler accel: 2 text_to_tokens calls" in fast.stderr and "1 repeated texts reused" in fast.stderr


# -- RULER's own generators: the same bytes -------------------------------------------------------

TASKS = "niah_single_1,niah_single_3,niah_multikey_2,vt,cwe,fwe,qa_1"


@pytest.mark.slow
def test_prepared_files_are_byte_identical_with_and_without_acceleration(mirror_dir, tmp_path):
    """SmolLM2's tokenizer at 4096 tokens, 3 samples of a noise, an essay (non-ASCII islands, the
    sentence cache) and a needle niah, vt, cwe, fwe (a repeated text) and qa (many non-ASCII
    spans): each task's test.jsonl is the same file, and the fast path was really taken."""
    environment_or_missing("ruler", "RULER generator")
    if not (SMOLLM2 / ".done").exists():
        missing(f"no SmolLM2 model at {SMOLLM2} (scripts/setup.sh converts it)")
    mirror = tmp_path / "mirror"  # a stand-in english_words.json, as in test_ruler_e2e (4096 tokens never use it)
    mirror.mkdir()
    for entry in mirror_dir.iterdir():
        if entry.name != "ruler":
            (mirror / entry.name).symlink_to(entry)
    (mirror / "ruler").mkdir()
    for entry in (mirror_dir / "ruler").iterdir():
        (mirror / "ruler" / entry.name).symlink_to(entry)
    (mirror / "ruler" / "english_words.json").write_text('{"0": "apple", "1": "pear"}')
    digests = {}
    for mode in ("false", "true"):
        data = tmp_path / mode
        res = subprocess.run([str(Path(sys.executable).parent / "ns"), "prepare_data", "ruler", "--setup", "s",
                              "--tokenizer_path", str(SMOLLM2), "--max_seq_length", "4096", "--num_samples", "3",
                              "--tasks", TASKS, "--num_workers", "2", "--accelerate", mode, f"--data_dir={data}",
                              f"--mirror={mirror}", "--allow_input_mismatch", "--no-prompts"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=1200,
                             env={**os.environ, "SKILLS_PROGRESS_INTERVAL": "600"})
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        digests[mode] = {t: hashlib.sha256((data / "ruler" / "s" / t / "test.jsonl").read_bytes()).hexdigest()
                         for t in TASKS.split(",")}
        logs = {t: (data / "ruler" / "s" / ".logs" / f"{t}.log").read_text() for t in TASKS.split(",")}
        if mode == "true":
            for task, log in logs.items():
                fast = re.search(r"text_to_tokens calls in [\d.]+ CPU s: (\d+) from cached pieces", log)
                assert fast and int(fast.group(1)) >= 3, (task, log[-2000:])
            assert re.search(r"sent_tokenize: \d+ calls, [1-9]\d* answered from the cache", logs["niah_single_3"])
            assert re.search(r"[1-9]\d* non-ASCII spans tokenized", logs["qa_1"])
            assert re.search(r"[1-9]\d* repeated texts reused", logs["fwe"])
        else:
            assert not any("ruler accel" in log for log in logs.values())
    assert digests["true"] == digests["false"]
