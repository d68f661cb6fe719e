"""The reference's data rules for the math shelf, written out again from its prepare.py files (not
imported from skills), so the tests compare our prepared files with an independent computation."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List


def jsonl(path: Path) -> List[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def dump(rows: List[dict]) -> bytes:
    """The bytes the reference writes: ``json.dumps`` defaults (ASCII escapes, ", " and ": "), one row a line."""
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def intify(x):
    return int(x) if float(x).is_integer() else x


def qwen(raw: dict) -> dict:
    """save_data_from_qwen: answer -> expected_answer, then question -> problem (if no problem), each appended."""
    out = {k: v for k, v in raw.items() if k != "answer"}
    if "answer" in raw:
        out["expected_answer"] = raw["answer"]
    if "problem" not in out:
        out = {**{k: v for k, v in out.items() if k != "question"}, "problem": raw["question"]}
    return out


def last_boxed(text: str):
    """Content of the last ``\\boxed{...}`` (balanced braces)."""
    start = text.rindex("\\boxed{") + len("\\boxed{")
    depth, i = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start:i - 1]


def gsm8k(raw: dict) -> dict:
    solution, _, answer = raw["answer"].rpartition("####")
    return {"problem": raw["question"], "expected_answer": intify(float(answer.replace(",", ""))),
            "reference_solution": re.sub(r"<<[^\n]*?>>", "", solution)}


ODYSSEY_TAILS = ["\\\\\n\\noindent", "\\\\\n\n\\noindent", "\\\\\n\t\\noindent", ".\n\n\\noindent", "\n\n\\noindent",
                 "\\\\\n\n  \n\t\\noindent", "\\\\ \n\t\\noindent", "\\\\\n\n\t\\noindent"]


def odyssey(line: dict) -> dict:
    (raw,) = line.values()
    answer = raw["answer"]
    for tail in ODYSSEY_TAILS:
        if not answer.endswith(tail):
            continue
        answer = answer[: len(answer) - len(tail)].strip()
        if answer[:1] == "\\" or answer[-1:] == "\\":
            answer = answer.strip("\\").strip()
        answer = answer[:-1] if answer.endswith(".") else answer
        answer = answer.replace("$", "").strip() if "$" in answer else answer
    problem = raw["question"].replace("\\underline{\\hspace{2cm}}", "")
    assert problem.count("\\end{problem}") == 1
    return {"problem": problem.partition("\\end{problem}")[0].strip(), "expected_answer": answer,
            "original_answer": raw["answer"], "reference_solution": raw["reasoning"], "label": raw["label"],
            "level": raw["level"]}


def expected_files(bench: str, src: Path) -> Dict[str, List[dict]]:
    """{split: rows} the reference writes for ``bench`` from the upstream files in ``src`` (a mirror folder)."""
    d = src / bench
    if bench == "gsm8k":
        return {s: [gsm8k(r) for r in jsonl(d / f"{s}.jsonl")] for s in ("test", "train")}
    if bench in ("amc23", "college_math", "gaokao2023en"):
        return {"test": [qwen(r) for r in jsonl(d / "test.jsonl")]}
    if bench == "hendrycks_math":
        return {s: [qwen(r) for r in jsonl(d / f"{s}.jsonl")] for s in ("test", "train")}
    if bench == "olympiadbench":
        rows = [qwen(r) for r in jsonl(d / "test.jsonl")]
        return {"test": [{**{k: v for k, v in r.items() if k != "final_answer"},
                          "expected_answer": r["final_answer"][0].strip("$")} for r in rows]}
    if bench == "minerva_math":
        return {"test": [{**qwen(r), "expected_answer": last_boxed(r["solution"])} for r in jsonl(d / "test.jsonl")]}
    if bench in ("hmmt_feb25", "brumo25"):
        return {"test": [qwen(r) for r in jsonl(d / "train.jsonl")]}
    if bench == "beyond-aime":
        return {"test": [qwen(r) for r in jsonl(d / "test.jsonl")]}
    if bench == "algebra222":
        with open(d / "algebra222.csv", newline="", encoding="utf-8") as fh:
            return {"test": [{"problem": r["question"], "expected_answer": intify(float(r["final_answer"]))}
                             for r in csv.DictReader(fh)]}
    if bench == "asdiv":
        return {"test": [{"problem": f"{p.findtext('Body').strip()} {p.findtext('Question').strip()}",
                          "expected_answer": p.findtext("Answer").partition("(")[0].strip(),
                          "type": p.findtext("Solution-Type")}
                         for p in ET.parse(d / "ASDiv.xml").iter("Problem")]}
    if bench == "math-odyssey":
        return {"test": [odyssey(line) for line in jsonl(d / "final-odyssey-math-with-levels.jsonl")]}
    if bench == "mawps":
        return {"test": [{"problem": r["input"], "expected_answer": intify(r["target"]), "type": subset}
                         for subset in ("addsub", "singleeq", "singleop", "multiarith")
                         for r in jsonl(d / f"{subset}.jsonl")]}
    if bench == "svamp":
        return {"test": [{"problem": r["Body"] + ("." if r["Body"][-1].isalpha() else "") + " " + r["Question"],
                          "expected_answer": intify(r["Answer"]), "reference_equation": r["Equation"]}
                         for r in json.loads((d / "SVAMP.json").read_text(encoding="utf-8"))]}
    if bench == "comp-math-24-25":
        return {"test": jsonl(d / "test.txt")}
    raise KeyError(bench)


def gsm_plus(raw: dict) -> dict:
    answer = raw.get("answer") or raw.get("expected_answer")
    answer = "insufficient" if answer == "None" else answer
    if str(answer).replace(".", "", 1).replace("-", "", 1).isdigit():
        answer = intify(float(answer))
    rest = {k: v for k, v in raw.items()
            if k not in ("answer", "expected_answer", "solution", "problem", "reference_solution")}
    return {"problem": raw["question"], "reference_solution": raw.get("solution") or raw.get("reference_solution"),
            "expected_answer": answer, **rest}


def rounded(row: dict) -> dict:
    answer = row["expected_answer"]
    try:
        float(answer)
    except ValueError:
        return row
    decimals = len(str(answer).partition(".")[2])
    tail = {0: "Express the answer as an integer.", 1: "Round the answer to one decimal place."}.get(
        decimals, f"Round the answer to {decimals} decimal places.")
    return {**row, "problem": f"{row['problem']} {tail}"}
