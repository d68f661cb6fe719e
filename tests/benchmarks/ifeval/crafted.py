"""Crafted IFEval responses: for every prompt of the data, responses built from its own instructions'
arguments, each made to follow or to break them, plus variants only the loose mode forgives.

One response per prompt per file (the official checker looks responses up by prompt), so each
variant is a file of its own.
"""

from __future__ import annotations

from typing import Callable, Dict, List

SAMPLES = {  # a sentence per language the data asks for (the rest get English)
    "en": "The weather today is pleasant and the children are playing outside in the park.",
    "es": "El tiempo hoy es agradable y los niños están jugando afuera en el parque.",
    "fr": "Le temps est agréable aujourd'hui et les enfants jouent dehors dans le parc.",
    "de": "Das Wetter ist heute angenehm und die Kinder spielen draußen im Park.",
    "it": "Il tempo oggi è piacevole e i bambini giocano fuori nel parco.",
    "pt": "O tempo hoje está agradável e as crianças estão brincando lá fora no parque.",
    "ru": "Сегодня приятная погода, и дети играют на улице в парке.",
    "hi": "आज मौसम सुहावना है और बच्चे पार्क में बाहर खेल रहे हैं।",
    "ja": "今日は天気が良く、子供たちは公園で外で遊んでいます。",
    "ko": "오늘 날씨가 좋고 아이들이 공원 밖에서 놀고 있습니다.",
    "ar": "الطقس اليوم لطيف والأطفال يلعبون في الخارج في الحديقة.",
    "fi": "Sää on tänään mukava ja lapset leikkivät ulkona puistossa.",
}
FILLER = "This answer talks about the topic in plain words"


def _n(kw: dict, key: str, default: int) -> int:
    value = kw.get(key)
    return int(value) if isinstance(value, int) else default


def _at_least(kw: dict, key: str) -> bool:
    return kw.get(key) != "less than"


def snippet(iid: str, kw: dict, follow: bool) -> str:
    """Text aimed at following (or breaking) one instruction with its arguments."""
    kind = iid.split(":", 1)[1]
    if kind == "existence":
        return ("We cover " + " and ".join(kw.get("keywords") or []) + ".") if follow else "Nothing else here."
    if kind == "frequency":
        n = _n(kw, "frequency", 1)
        times = (n if _at_least(kw, "relation") else max(n - 1, 0)) if follow else (
            max(n - 1, 0) if _at_least(kw, "relation") else n + 1)
        return " ".join([kw.get("keyword") or "word"] * times)
    if kind == "forbidden_words":
        return "Calm words only." if follow else " ".join(kw.get("forbidden_words") or [])
    if kind == "letter_frequency":
        n = _n(kw, "let_frequency", 1)
        letter = kw.get("letter") or "z"
        want = n if _at_least(kw, "let_relation") else 0
        return (letter * want if follow else letter * (n + 3 if not _at_least(kw, "let_relation") else 0)) or "ok"
    if kind == "response_language":
        lang = kw.get("language") or "en"
        return SAMPLES.get(lang, SAMPLES["en"]) if follow else SAMPLES["en" if lang != "en" else "de"]
    if kind == "number_sentences":
        n = _n(kw, "num_sentences", 1)
        k = (n if _at_least(kw, "relation") else max(n - 1, 1)) if follow else (
            max(n - 1, 1) if _at_least(kw, "relation") else n + 1)
        return " ".join(f"Sentence number {i} is here." for i in range(1, k + 1))
    if kind == "number_paragraphs":
        n = _n(kw, "num_paragraphs", 1) + (0 if follow else 1)
        return "\n***\n".join(f"Paragraph {i} text." for i in range(1, n + 1))
    if kind == "number_words":
        n = _n(kw, "num_words", 1)
        k = (n + 5 if _at_least(kw, "relation") else max(n - 10, 1)) if follow else (
            max(n - 10, 1) if _at_least(kw, "relation") else n + 5)
        return " ".join(["word"] * k)
    if kind == "nth_paragraph_first_word":
        n, nth = _n(kw, "num_paragraphs", 1), _n(kw, "nth_paragraph", 1)
        first = kw.get("first_word") or "hello"
        paras = [f"{first.capitalize() if follow and i == nth else 'Other'} paragraph {i}." for i in range(1, n + 1)]
        return "\n\n".join(paras)
    if kind == "number_placeholders":
        return " ".join(f"[field{i}]" for i in range(_n(kw, "num_placeholders", 1) + (0 if follow else -1)))
    if kind == "postscript":
        marker = kw.get("postscript_marker") or "P.S."
        return f"Main text.\n{marker} a note at the end." if follow else "Main text without a note."
    if kind == "number_bullet_lists":
        n = _n(kw, "num_bullets", 1) + (0 if follow else 1)
        return "\n".join(f"* point {i}" for i in range(1, n + 1))
    if kind == "constrained_response":
        return "My answer is yes." if follow else "Probably."
    if kind == "number_highlighted_sections":
        n = _n(kw, "num_highlights", 1) + (0 if follow else -1)
        return " ".join(f"*highlight {i}*" for i in range(1, n + 1)) or "plain"
    if kind == "multiple_sections":
        spl = kw.get("section_spliter") or "Section"
        n = _n(kw, "num_sections", 1) + (0 if follow else -1)
        return "\n".join(f"{spl} {i}\ncontent {i}" for i in range(1, n + 1)) or "no sections"
    if kind == "json_format":
        return '```json\n{"answer": "value"}\n```' if follow else "{not json"
    if kind == "title":
        return "<<A Fine Title>>" if follow else "No title here"
    if kind == "two_responses":
        return "First answer.\n******\nSecond answer." if follow else "Only one answer."
    if kind == "repeat_prompt":
        return (kw.get("prompt_to_repeat") or "") if follow else "I will not repeat it."
    if kind == "end_checker":
        return f"Closing words. {kw.get('end_phrase')}" if follow else "Closing words."
    if kind == "quotation":
        return '"Quoted answer."' if follow else "Unquoted answer."
    if kind == "capital_word_frequency":
        n = _n(kw, "capital_frequency", 1)
        k = (n if _at_least(kw, "capital_relation") else max(n - 1, 0)) if follow else (
            max(n - 1, 0) if _at_least(kw, "capital_relation") else n + 2)
        return " ".join(["LOUD"] * k)
    if kind == "english_capital":
        return "ALL OF THIS TEXT IS WRITTEN IN CAPITAL LETTERS FOR YOU." if follow else "Mixed Case text here."
    if kind == "english_lowercase":
        return "all of this text is written in lowercase letters for you." if follow else "Mixed Case text here."
    if kind == "no_comma":
        return "No commas appear in this line." if follow else "Commas, commas, everywhere."
    raise KeyError(iid)


def _compose(row: dict, follow: Callable[[int], bool]) -> str:
    ids, kws = row["instruction_id_list"], row["kwargs"]
    parts = [snippet(iid, kw, follow(i)) for i, (iid, kw) in enumerate(zip(ids, kws))]
    repeat = [p for p, iid in zip(parts, ids) if iid.endswith("repeat_prompt")]
    rest = [p for p, iid in zip(parts, ids) if not iid.endswith("repeat_prompt")]
    text = "\n\n".join(repeat + [FILLER + "."] + rest)
    if "change_case:english_capital" in ids and follow(ids.index("change_case:english_capital")):
        text = text.upper()
    if "change_case:english_lowercase" in ids and follow(ids.index("change_case:english_lowercase")):
        text = text.lower()
    if "punctuation:no_comma" in ids and follow(ids.index("punctuation:no_comma")):
        text = text.replace(",", "")
    if "startend:quotation" in ids and follow(ids.index("startend:quotation")):
        text = f'"{text}"'
    if "detectable_format:json_format" in ids and follow(ids.index("detectable_format:json_format")):
        import json

        text = "```json\n" + json.dumps({"answer": text}) + "\n```"
    return text


VARIANTS: Dict[str, Callable[[dict], str]] = {
    "follow": lambda row: _compose(row, lambda i: True),
    "break": lambda row: _compose(row, lambda i: False),
    "mixed": lambda row: _compose(row, lambda i: i % 2 == 0),
    "loose": lambda row: "Sure, here is my answer:\n" + _compose(row, lambda i: True).replace("word", "**word**")
    + "\nI hope this helps!",
    "blank": lambda row: " \n ",
}


def responses(rows: List[dict], variant: str) -> List[dict]:
    make = VARIANTS[variant]
    return [{**row, "response": make(row)} for row in rows]
