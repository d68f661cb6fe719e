"""The messages each problem was sent, rebuilt for the report's drill-down.

Result rows do not carry their prompts (they would double the size of a run), but the run
manifest records everything that made them: the prompt file (with its sha256), the prompt set,
the ``++`` overrides (system message, few-shot examples, suffix). ``Messages`` turns a result
row back into the chat messages with the same code that built them for the server
(``skills.inference.prompts.PromptBuilder``). If the prompt file changed since the run (another
sha256) the messages are still shown, with a note saying so; generation modules that build
their own requests turn by turn (SciCode's sub-steps, BFCL's tool calls) are not rebuilt.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Dict, List, Optional

from skills.config.errors import UsageError


def _sha256(path: Path) -> Optional[str]:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


class Messages:
    """``messages(row)``: the chat messages of one problem, or None (``note`` says why)."""

    def __init__(self, cfg: Any, entry: Dict[str, Any]):
        self.builder = None
        self.note: Optional[str] = None
        if cfg is None:
            self.note = "the run's settings could not be read back from its manifest"
            return
        from skills.inference.prompts import PromptBuilder
        from skills.inference.task import GenerationTask, task_of

        module = entry.get("generation_module") or "skills.inference.generate"
        if task_of(module).prepare is not GenerationTask.prepare:
            self.note = f"{module} builds its own requests (e.g. turn by turn): see its job log's example prompt"
            return
        try:
            self.builder = PromptBuilder(cfg)
        except UsageError as exc:
            self.note = f"the prompt cannot be rebuilt here: {exc.message}"
            return
        recorded = (entry.get("prompt") or {}).get("sha256")
        prompt = self.builder.prompt
        if recorded and prompt is not None and _sha256(prompt.path) != recorded:
            self.note = (f"{prompt.path} changed since the run (sha256 differs from the manifest's): the messages "
                         "below are rebuilt with today's file")
        elif cfg.inference.endpoint_type == "text":
            self.note = "sent as one text prompt: these messages went through the model's chat template first"

    def messages(self, row: Dict[str, Any], where: str) -> Optional[List[Dict[str, Any]]]:
        if self.builder is None:
            return None
        try:
            return self.builder.messages(row, where)
        except UsageError:
            return None
