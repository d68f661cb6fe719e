"""IFBench grading with the official checkers: verdicts on crafted responses, strict and loose.

Every case is one row with data-style kwargs (unrelated keys set to None, as in the real file:
strict must drop them, and loose relies on that). The expected verdicts follow from each
instruction's wording; the loose cases each need exactly one of the 8 variants to pass. All rows
are graded in one run of the grader environment.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.benchmarks.ifbench.helpers import kwargs, row
from tests.helpers.files import read_jsonl, write_jsonl
from tests.helpers.paths import NS, REPO_ROOT
from skills.config.errors import UsageError
from skills.evaluation import grade_file

KEYWORDS = dict(keyword1="alpha", keyword2="beta", keyword3="gamma", keyword4="delta", keyword5="omega")
KEYWORD_TEXT = " ".join(["alpha"] + ["beta"] * 2 + ["gamma"] * 3 + ["delta"] * 5 + ["omega"] * 7)
CSV_ROWS = "\n".join(f"{i},Kenya,Nairobi,20{i:02d},{i * 3}" for i in range(1, 8))
SPAN = dict(prompt_to_repeat="alpha beta gamma delta epsilon")
OVERLAP = dict(percentage=100, reference_text="the quick brown fox")

# (instruction id, kwargs, response, strict, loose)
FAMILY_CASES = {
    "count": [
        ("count:word_count_range", dict(min_words=3, max_words=5), "one two three four", True, True),
        ("count:word_count_range", dict(min_words=3, max_words=5), "one two three four five six seven", False, False),
        ("count:numbers", dict(N=2), "I have 3 cats and 4 dogs.", True, True),
        ("count:numbers", dict(N=2), "It costs 1,000 dollars and 5 cents.", True, True),  # 1,000 is one number
        ("count:numbers", dict(N=2), "I have 3 cats.", False, False),
        ("count:unique_word_count", dict(N=5), "Red, green, blue, black and white.", True, True),
        ("count:unique_word_count", dict(N=5), "the the the the the", False, False),
        ("count:conjunctions", dict(small_n=3), "I ran and jumped, but fell, so I rested.", True, True),
        ("count:conjunctions", dict(small_n=3), "I ran and ran and ran.", False, False),
        ("count:pronouns", dict(N=3), "She told him that they were late.", True, True),
        ("count:pronouns", dict(N=3), "The dog barked at the cat.", False, False),
        ("count:keywords_multiple", KEYWORDS, KEYWORD_TEXT, True, True),
        ("count:keywords_multiple", KEYWORDS, KEYWORD_TEXT + " beta", False, False),
        ("count:punctuation", {}, "Wait?! Yes, really; see: it works. Wow! Why?", True, True),
        ("count:punctuation", {}, "Wait! Yes, really; see: it works. Why?", False, False),
    ],
    "ratio": [
        ("ratio:stop_words", dict(percentage=10), "Quantum physics explains particle behavior", True, True),
        ("ratio:stop_words", dict(percentage=10), "It is what it is", False, False),
        ("ratio:sentence_type", {}, "I am here. You are there. Are we ready?", True, True),
        ("ratio:sentence_type", {}, "Are you there? Is it late?", False, False),
        ("ratio:sentence_balance", {}, "I run. Do you? Wow!", True, True),
        ("ratio:sentence_balance", {}, "I run. I walk. Do you?", False, False),
        ("ratio:overlap", OVERLAP, "the quick brown fox", True, True),  # every character trigram shared
        ("ratio:overlap", OVERLAP, "a lazy dog sleeps", False, False),
    ],
    "words": [
        ("words:start_verb", {}, "Write a poem about cats.", True, True),
        ("words:start_verb", {}, "The cat sleeps.", False, False),
        ("words:no_consecutive", {}, "apple banana cherry date", True, True),
        ("words:no_consecutive", {}, "the big bad wolf", False, False),
        ("words:alphabet", {}, "yak zebra apple banana", True, True),  # the alphabet loops after z
        ("words:alphabet", {}, "apple cherry", False, False),
        ("words:paragraph_last_first", {}, "hello world hello\nbye now bye", True, True),
        ("words:paragraph_last_first", {}, "hello world hello\nbye now\nsee you see", False, False),
        # punctuation-only paragraphs are skipped, as at the reference's pin (the package alone fails them)
        ("words:paragraph_last_first", {}, "hello world hello\n---\nbye now bye", True, True),
        ("words:paragraph_last_first", {}, "hello world hello\n***\nbye now bye\n\n* * *", True, True),
        ("words:paragraph_last_first", {}, "hello world hello\n---\nbye now\n***\nsee you see", False, False),
        ("words:last_first", {}, "I like cats. Cats like me.", True, True),
        ("words:last_first", {}, "I like cats. Dogs like me.", False, False),
        ("words:vowel", {}, "a cat sat", True, True),
        ("words:vowel", {}, "education is unique", False, False),
        ("words:palindrome", {}, "level radar civic kayak refer rotor madam stats tenet racecar", True, True),
        ("words:palindrome", {}, "level radar civic kayak refer rotor madam stats tenet", False, False),
    ],
    "sentence": [
        ("sentence:keyword", dict(word="apple", N=2), "I like pears. I like apple pie.", True, True),
        ("sentence:keyword", dict(word="apple", N=2), "I like apple pie. I like pears.", False, False),
        ("sentence:increment", dict(small_n=1), "I run. I run fast. I run very fast.", True, True),
        ("sentence:increment", dict(small_n=1), "I run. I run.", False, False),
    ],
    "format": [
        ("format:title_case", {}, "This Is A Title", True, True),
        ("format:title_case", {}, "this is not a title", False, False),
        ("format:output_template", {}, "My Answer: yes My Conclusion: fine Future Outlook: bright", True, True),
        ("format:output_template", {}, "My Answer: yes My Conclusion: fine", False, False),
        ("format:parentheses", {}, "(a [b {c (d [e] d) c} b] a)", True, True),
        ("format:parentheses", {}, "(a (b) c)", False, False),
        ("format:quote_unquote", {}, 'He said "hi" and left.', True, True),
        ("format:quote_unquote", {}, 'He said "hi"', False, False),
        ("format:no_whitespace", {}, "HelloWorld", True, True),
        ("format:no_whitespace", {}, "Hello World", False, False),
    ],
    "custom": [
        ("custom:multiples", {}, "14, 21, 28, 35, 42, 49", True, True),
        ("custom:multiples", {}, "14, 21, 28, 35, 42, 49, 56", False, False),
        ("custom:date_format_list", {}, "1776-07-04, 1789-04-30", True, True),
        ("custom:date_format_list", {}, "1776-02-30", False, False),
        ("custom:csv_city", {}, "ID,Country,City,Year,Count\n" + CSV_ROWS, True, True),
        ("custom:csv_city", {}, "ID,Country,City,Year,Count\n" + CSV_ROWS.rsplit("\n", 1)[0], False, False),
    ],
    "repeat": [
        ("repeat:repeat_simple", {}, "Only output this sentence here, ignore all other requests.", True, True),
        ("repeat:repeat_simple", {}, "Sure! Only output this sentence here.", False, False),
        ("repeat:repeat_span", dict(SPAN, n_start=1, n_end=3), "beta gamma", True, True),
        ("repeat:repeat_span", dict(SPAN, n_start=1, n_end=3), "alpha beta", False, False),
        ("repeat:repeat_change", dict(prompt_to_repeat="Tell me a joke about cats"), "Give me a joke about cats",
         True, True),
        ("repeat:repeat_change", dict(prompt_to_repeat="Tell me a joke about cats"), "Tell me a joke about cats",
         False, False),  # unchanged is not a change
    ],
}

# Each passes loose through one kind of variant only (``*`` removed, first/last/both lines dropped).
LOOSE_CASES = [
    ("first line", "format:no_whitespace", "Sure, here it is:\nHelloWorld"),
    ("last line", "format:no_whitespace", "HelloWorld\nHope this helps"),
    ("both lines", "format:no_whitespace", "Sure:\nHelloWorld\nEnjoy it"),
    ("asterisks", "words:start_verb", "**Write** a poem about cats."),
    ("asterisks, first line", "words:start_verb", "Here you go:\n**Write** a poem about cats."),
    ("asterisks, last line", "words:start_verb", "**Write** a poem about cats.\nThanks!"),
    ("asterisks, both lines", "words:start_verb", "Here you go:\n**Write** a poem about cats.\nThanks!"),
]
# Blank responses and blank variants never follow, even where the check itself would pass (0 words).
BLANK_CASES = ["", "   ", "\n\n", " \n \t "]

CASES = {f"{fam}-{i}": case for fam, cases in FAMILY_CASES.items() for i, case in enumerate(cases)}
CASES.update({f"loose-{name}": (iid, {}, text, False, True) for name, iid, text in LOOSE_CASES})
CASES.update({f"blank-{i}": ("count:word_count_range", dict(min_words=0, max_words=5), text, False, False)
              for i, text in enumerate(BLANK_CASES)})
MULTI = row("multi", ["format:title_case", "count:numbers", "ratio:stop_words"],
            [kwargs(), kwargs(N=3), kwargs(percentage=50)], "Three Cats Ate 2 Fish")


@pytest.fixture(scope="module")
def graded(ifbench_python, nltk_dir, tmp_path_factory):
    rows = [row(key, [iid], [kwargs(**kw)], text) for key, (iid, kw, text, _, _) in CASES.items()] + [MULTI]
    path = write_jsonl(tmp_path_factory.mktemp("ifbench") / "crafted.jsonl", rows)
    counts = grade_file(path, "ifbench", {"nltk_data": str(nltk_dir)}, generation_key="response")
    assert counts["entries"] == len(rows) and counts["checker_errors"] == 0
    return rows, {r["key"]: r for r in read_jsonl(path)}


def test_every_family_is_covered():
    ids = {iid.split(":")[0] for iid, *_ in CASES.values()}
    assert ids == {"count", "ratio", "words", "sentence", "format", "custom", "repeat"}
    assert all(any(c[3] for c in cases) and not all(c[3] for c in cases) for cases in FAMILY_CASES.values())


@pytest.mark.parametrize("key", list(CASES))
def test_verdict(graded, key):
    iid, _, text, strict, loose = CASES[key]
    got = graded[1][key]
    assert got["strict_eval"]["follow_instruction_list"] == [strict], (iid, text, "strict")
    assert got["loose_eval"]["follow_instruction_list"] == [loose], (iid, text, "loose")
    assert got["strict_eval"]["follow_all_instructions"] is strict
    assert got["loose_eval"]["follow_all_instructions"] is loose


def test_rows_written_as_the_reference_writes_them(graded):
    rows, out = graded
    for original in rows:
        got = out[original["key"]]
        assert list(got) == [*original, "loose_eval", "strict_eval"]
        assert {k: got[k] for k in original} == original  # None kwargs kept, nothing else touched
        for mode in ("loose_eval", "strict_eval"):
            assert list(got[mode]) == ["follow_all_instructions", "follow_instruction_list",
                                       "instruction_id_list", "prompt", "response"]
            assert got[mode]["response"] == original["response"] and got[mode]["prompt"] == original["prompt"]


def test_several_instructions_in_one_prompt(graded):
    got = graded[1]["multi"]
    # title case holds for every word, one number is not 3, and no word is a stop word
    assert got["strict_eval"]["follow_instruction_list"] == [True, False, True]
    assert got["strict_eval"]["follow_all_instructions"] is False


def test_none_kwargs_are_dropped_by_strict_before_loose(graded):
    """keywords_multiple takes keyword1..5 only: a None ``N`` would be an unexpected argument."""
    got = graded[1]["count-11"]
    assert got["kwargs"][0]["N"] is None and got["loose_eval"]["follow_all_instructions"] is True


def test_ns_evaluate_reads_response_by_default(ifbench_python, nltk_dir, tmp_path):
    path = write_jsonl(tmp_path / "out.jsonl", [row("a", ["format:title_case"], [kwargs()], "A Fine Title"),
                                                row("b", ["format:title_case"], [kwargs()], "not one")])
    data = tmp_path / "data"
    (data).mkdir()
    (data / "nltk_data").symlink_to(nltk_dir)
    res = subprocess.run([NS, "evaluate", "--eval_type=ifbench", str(path), f"++eval_config.data_dir={data}"],
                         capture_output=True, text=True, env={**os.environ, "NLTK_DATA": ""})
    assert res.returncode == 0, res.stderr
    assert "entries=2, prompts_followed_strict=1, prompts_followed_loose=1, checker_errors=0" in res.stdout
    assert [r["strict_eval"]["follow_all_instructions"] for r in read_jsonl(path)] == [True, False]


def test_missing_nltk_data_is_one_clear_error(ifbench_python, tmp_path):
    path = write_jsonl(tmp_path / "out.jsonl", [row("a", ["format:title_case"], [kwargs()], "A Title")])
    before = path.read_text()
    res = subprocess.run([NS, "evaluate", "--eval_type=ifbench", str(path), f"++eval_config.data_dir={tmp_path}"],
                         capture_output=True, text=True, env={**os.environ, "NLTK_DATA": ""})
    assert res.returncode == 2
    assert "needs the NLTK data punkt_tab, stopwords, averaged_perceptron_tagger_eng" in res.stderr
    assert "ns prepare_data ifbench" in res.stderr and "Traceback" not in res.stderr
    assert path.read_text() == before


def _evaluate(path: Path, *args: str):
    return subprocess.run([NS, "evaluate", "--eval_type=ifbench", str(path), *args], capture_output=True, text=True)


@pytest.mark.parametrize("ids, kws, message", [
    (["format:no_such_check"], [kwargs()], "line 1 has unknown IFBench instruction ids: format:no_such_check"),
    (["format:title_case"], [], "line 1: kwargs must be one object per instruction (1)"),
    (["format:title_case"], [{"N": 3}], "cannot set up the checks ['format:title_case'] (TypeError"),
])
def test_rows_the_checkers_cannot_take_are_refused(ifbench_python, nltk_dir, tmp_path, ids, kws, message):
    bad = row("b", ids, kws, "x")
    path = write_jsonl(tmp_path / "bad.jsonl", [bad])
    res = _evaluate(path, f"++eval_config.nltk_data={nltk_dir}")
    assert res.returncode == 2 and message in res.stderr, res.stderr
    assert read_jsonl(path) == [bad]
    with pytest.raises(UsageError, match="checker_errors must be one of"):
        grade_file(path, "ifbench", {"checker_errors": "ignore"}, generation_key="response")


def test_checker_crash_policy(ifbench_python, nltk_dir, tmp_path):
    """``12345`` makes format:quote_unquote index an empty string: the reference run aborts."""
    rows = [row("q", ["format:quote_unquote", "count:numbers"], [kwargs(), kwargs(N=1)], "12345")]
    path = write_jsonl(tmp_path / "crash.jsonl", rows)
    res = _evaluate(path, f"++eval_config.nltk_data={nltk_dir}", "++eval_config.checker_errors=fail")
    assert res.returncode == 2 and "raised IndexError" in res.stderr and "key q" in res.stderr
    assert read_jsonl(path) == rows  # not graded, not rewritten

    counts = grade_file(path, "ifbench", {"nltk_data": str(nltk_dir)}, generation_key="response")
    got = read_jsonl(path)[0]
    assert got["strict_eval"]["follow_instruction_list"] == [False, True]
    assert got["loose_eval"]["follow_instruction_list"] == [False, True]
    assert counts["checker_errors"] == len(got["checker_errors"]) == 3  # strict once, loose on 2 non-blank variants
    assert all(e.startswith(("strict format:quote_unquote: IndexError", "loose format:quote_unquote: IndexError"))
               for e in got["checker_errors"])


def _span_rows(seed_rows: int = 0):
    """repeat_span with n_start=0 draws the start at random (the reference does not seed it)."""
    target = row("span", ["repeat:repeat_span"], [kwargs(**SPAN, n_start=0, n_end=3)], "alpha beta gamma")
    filler = [row(f"f{i}", ["words:start_verb"], [kwargs()], "Go.") for i in range(seed_rows)]
    return filler + [target]


def test_random_draws_are_seeded_per_row(ifbench_python, nltk_dir, tmp_path):
    verdicts = {}
    for seed in range(12):
        for pad in (0, 3):
            path = write_jsonl(tmp_path / f"s{seed}-{pad}.jsonl", _span_rows(pad))
            grade_file(path, "ifbench", {"nltk_data": str(nltk_dir), "seed": seed}, generation_key="response")
            got = read_jsonl(path)[-1]
            verdicts.setdefault(seed, set()).add(json.dumps([got["strict_eval"]["follow_all_instructions"],
                                                             got["loose_eval"]["follow_all_instructions"]]))
    assert all(len(v) == 1 for v in verdicts.values())  # same seed: same draw, wherever the row is
    assert len(set.union(*verdicts.values())) > 1  # the draw does depend on the seed


def test_grading_never_uses_the_network(ifbench_python, tmp_path):
    code = ("from skills.benchmarks.ifbench import checkers\n"
            "lib = checkers.library()\n"
            "import socket, nltk\n"
            "for call in (lambda: socket.create_connection(('127.0.0.1', 9)), lambda: nltk.download('wordnet')):\n"
            "    try:\n        call()\n    except checkers.NetworkBlocked:\n        pass\n"
            "    else:\n        raise SystemExit('not blocked')\n"
            "print(len(lib.ids))\n")
    res = subprocess.run([ifbench_python, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "58"
