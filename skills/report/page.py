"""The HTML file: one self-contained page (CSS, plotly.js, the page's JS, data and samples inline).

Opens from a shared file system with no server and no internet. The data the page needs at once
(summary tables, figures, the problem tables) is one JSON script; sample texts are gzip'ed in
chunks of consecutive problems (at most ``CHUNK_PROBLEMS``, about ``CHUNK_BYTES`` of JSON),
base64'ed into ``<script type="application/octet-stream">`` tags that the browser never executes
and the page decodes (``DecompressionStream``) only when a drill-down opens: opening the page
never parses sample texts as JSON. Small chunks matter: Chromium parses many 100 kB script
elements more than twice as fast as a few megabyte-sized ones. Texts longer than
``max_chars`` keep their head and tail with a note saying how much was left out.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
from collections import Counter
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from skills.report.runs import as_text, problem_text, seed_label
from skills.report.scores import Extractor

CHUNK_PROBLEMS = 50
CHUNK_BYTES = 256 * 1024
ANSWER_CHARS = 500


def cap(text: Optional[str], limit: int) -> Optional[str]:
    """``text`` with its middle cut out when longer than ``limit`` (0 = no limit)."""
    if text is None or limit <= 0 or len(text) <= limit:
        return text
    head = limit * 3 // 4
    tail = limit - head
    gone = len(text) - head - tail
    return (f"{text[:head]}\n\n[... {gone} characters left out of this report (--max_text_chars); "
            f"the result file has the full text ...]\n\n{text[-tail:]}")


def reasoning_of(row: Mapping[str, Any], generation: Optional[str]) -> Optional[str]:
    """Thoughts: the server's ``reasoning_content``, else the full text kept by ``parse_reasoning``."""
    if row.get("reasoning_content"):
        return as_text(row["reasoning_content"])
    full = row.get("_full_generation")
    return full if isinstance(full, str) and full != generation else None


class SampleChunks:
    """Sink of ``load_benchmark``: each problem's samples, compressed in chunks; ``starts[j]`` is the
    first problem of chunk j. ``messages`` (``skills.report.messages.Messages``) adds the messages
    each problem was sent."""

    def __init__(self, extractor: Extractor, files: Sequence[Path], max_chars: int, messages: Any = None) -> None:
        self.extractor = extractor
        self.files = list(files)
        self.labels = [seed_label(f) for f in files]
        self.max_chars = max_chars
        self.messages = messages
        self.pending: List[bytes] = []
        self.pending_bytes = 0
        self.blobs: List[str] = []
        self.starts: List[int] = []
        self.raw_bytes = 0

    def entry(self, index: int, rows: List[Dict[str, Any]]) -> Dict[str, Any]:
        """What the drill-down shows of one problem: its text, expected answer, messages, samples."""
        first = rows[0]
        samples = []
        for label, path, row in zip(self.labels, self.files, rows):
            generation = as_text(row.get("generation"))
            samples.append({
                "seed": label, "file": path.name, "line": index + 1,
                "scores": self.extractor.methods(row),
                "answer": cap(as_text(row.get(self.extractor.answer_key)), ANSWER_CHARS),
                "generation": cap(generation, self.max_chars),
                "reasoning": cap(reasoning_of(row, generation), self.max_chars),
                "judgement": cap(as_text(row.get("judgement")), self.max_chars),
                "tokens": row.get("num_generated_tokens"), "finish": row.get("finish_reason"),
            })
        entry = {"text": cap(problem_text(first), self.max_chars),
                 "expected": cap(as_text(first.get("expected_answer")), ANSWER_CHARS), "samples": samples}
        sent = self.messages.messages(first, f"{self.files[0]}:{index + 1}") if self.messages is not None else None
        if sent is not None:
            entry["messages"] = [{"role": str(m.get("role")), "content": cap(as_text(m.get("content")), self.max_chars)}
                                 for m in sent]
        return entry

    def __call__(self, index: int, rows: List[Dict[str, Any]]) -> None:
        self.add(self.entry(index, rows), index)

    def add(self, entry: Dict[str, Any], key: int) -> None:
        """Append one problem; ``key`` (its index, or its position in a list) starts a new chunk."""
        if not self.pending:
            self.starts.append(key)
        self.pending.append(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        self.pending_bytes += len(self.pending[-1])
        if len(self.pending) >= CHUNK_PROBLEMS or self.pending_bytes >= CHUNK_BYTES:
            self._flush()

    def _flush(self) -> None:
        raw = b"[" + b",".join(self.pending) + b"]"
        self.raw_bytes += len(raw)
        self.blobs.append(base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii"))
        self.pending = []
        self.pending_bytes = 0

    def finish(self) -> List[str]:
        if self.pending:
            self._flush()
        return self.blobs


def majority(answers: Sequence[Optional[str]]) -> Optional[str]:
    """Most common non-None answer (first seen wins ties)."""
    counts = Counter(a for a in answers if a is not None)
    return max(counts, key=lambda a: counts[a]) if counts else None


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: every "<" (only ever inside strings) escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c")


def _asset(name: str) -> str:
    return resources.files("skills.report").joinpath("assets", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        from skills.config.errors import UsageError

        raise UsageError("ns report needs the plotly package (pip install plotly)") from None
    return get_plotlyjs()


def render(title: str, subtitle: str, payload: Dict[str, Any], chunks: Sequence[Sequence[str]],
           extra: Optional[Mapping[str, str]] = None) -> str:
    """The whole page; ``chunks[b][j]`` is benchmark b's j-th sample blob; ``extra`` more blobs by
    element id (the comparisons' B samples)."""
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<link rel=\"icon\" href=\"data:,\">\n",
        f"<title>{html.escape(title)}</title>\n<style>\n{_asset('report.css')}</style>\n</head>\n<body>\n",
        f"<header><h1>{html.escape(title)}</h1><div class=\"muted\">{html.escape(subtitle)}</div></header>\n",
        "<nav id=\"tabs\"></nav>\n<main id=\"main\"></main>\n",
        f"<script type=\"application/json\" id=\"report-data\">{script_json(payload)}</script>\n",
        f"<script>{plotly_js()}</script>\n",
        f"<script>\n{_asset('report.js')}</script>\n",
    ]
    for b, blobs in enumerate(chunks):
        for j, blob in enumerate(blobs):
            parts.append(f"<script type=\"application/octet-stream\" id=\"s-{b}-{j}\">{blob}</script>\n")
    for key, blob in (extra or {}).items():
        parts.append(f"<script type=\"application/octet-stream\" id=\"{html.escape(key)}\">{blob}</script>\n")
    parts.append("</body>\n</html>\n")
    return "".join(parts)
