"""What one SciCode step sends and keeps: the prompt fields, the code taken from an answer, the
program recorded for the step, and the code of the prefilled steps.

These rules decide the exact prompt bytes and the exact programs that are graded, so they follow
the reference's generation byte for byte (its oddities included, each noted where it happens).
Standard library only: the tiny-model builder imports it in another environment.
"""

from __future__ import annotations

import ast
import re
from typing import Dict, List, Optional, Sequence

OUT_OF_CONTEXT = "_ran_out_of_context_"
STEP_SEPARATOR = "------"
# An import statement at a line start, after any whitespace (newlines included, so blank lines
# before it go too): `import x...` or `from x<whitespace>import y...`. Indented imports inside
# functions are removed as well, as the reference does.
_IMPORT_LINE = re.compile(r"^\s*(?:import .*|from .*\s+import\s+.*)", re.MULTILINE)
# Errors of an OpenAI-compatible server meaning "the prompt does not fit the context": the
# reference's list, plus what its client library (litellm) maps to a context-window error, which
# is how vLLM says it ("This model's maximum context length is N tokens. However, ...").
CONTEXT_ERRORS = (
    "maximum context length",
    "context_length_exceeded",
    "Requested token count exceeds",
    "exceeds maximum input length",
    "should not exceed max_seq_len",
    "reduce the length of the input messages",
    "'max_completion_tokens' is too large",
    "max_tokens must be at least 1, got -",
)


def step_text(step: dict, with_background: bool) -> str:
    """A step's description, followed by its background (which may be empty) when asked."""
    if with_background:
        return step["step_description_prompt"] + "\n" + step["step_background"]
    return step["step_description_prompt"]


def prompt_fields(problem: dict, index: int, previous_code: Sequence[Optional[str]],
                  with_background: bool = True) -> Dict[str, str]:
    """The template fields for step ``index`` (0-based), given the code kept for earlier steps."""
    parts: List[str] = []
    for k in range(index):
        parts += [step_text(problem["sub_steps"][k], with_background), previous_code[k], STEP_SEPARATOR]
    step = problem["sub_steps"][index]
    header = f"{step['function_header']}\n\n{step['return_line']}"
    return {
        "problem_steps_str": "\n\n".join(parts[:-1]),
        "next_step_str": step_text(step, with_background) + "\n\n" + header,
        "dependencies": problem["required_dependencies"],
    }


def extract_code(response: str) -> str:
    """The code of an answer: the first ```python block (else the first fenced block, else the
    whole answer), with its import lines removed (the dependencies come from the problem)."""
    if "```" in response:
        if "```python" in response:
            code = response.split("```python", 1)[1].split("```", 1)[0]
        else:  # a tag such as ```py stays in the code as its first line, as in the reference
            code = response.split("```", 2)[1]
    else:
        code = response
    return _IMPORT_LINE.sub("", code)


def step_program(problem: dict, index: int, previous_code: Sequence[Optional[str]], code: str) -> str:
    """What is recorded (and graded) for step ``index``: dependencies, the code of every earlier
    step (prefilled ones included), then this step's code."""
    dependencies = problem["required_dependencies"]
    earlier = "\n".join(previous_code[:index])  # type: ignore[arg-type]
    head = f"{dependencies}\n{earlier}\n" if earlier else f"{dependencies}\n"
    return f"{head}\n{code}"


def function_name(header: str) -> str:
    """The function named by a step header: the first ``def NAME(``, else the first ``class NAME(``."""
    for keyword in ("def", "class"):
        match = re.search(rf"\b{keyword}\s+(\w+)\s*\(", header)
        if match:
            return match.group(1)
    raise ValueError(f"no function or class in the step header {header[:80]!r}")


def prefilled_code(source: str, header: str) -> str:
    """The code of a prefilled step: the first function or class of SciCode's file for that step
    named like the header's (for a class header whose first ``def`` is ``__init__``, that method
    alone, as upstream), re-printed from its syntax tree, trailing spaces removed from each line."""
    name = function_name(header)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return "\n".join(line.rstrip() for line in ast.unparse(node).split("\n"))
    raise ValueError(f"no function or class named {name} in the prefilled code")


def is_context_overflow(error: BaseException) -> bool:
    text = str(error)
    return any(marker in text for marker in CONTEXT_ERRORS)
