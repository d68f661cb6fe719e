"""Pairwise judge: an LLM compares a row's candidate answer with a reference answer, in both orders.

The reference's ``arena_judge`` generation module (Arena-Hard), made generic: any benchmark whose
rows hold a candidate (``++candidate_key``, default ``generation``) and a baseline answer
(``++baseline_key``, default ``baseline_answer``) can use it as its judge (``JudgeDefaults
(generation_module="skills.inference.pairwise_judge")`` or ``--judge_generation_module``). Each row
gets two requests from the judge prompt, whose ``{answer_1}`` / ``{answer_2}`` are the candidate /
baseline, then baseline / candidate, sent together. The line gets ``<key>-gen-base`` and
``<key>-base-gen`` (``++generation_key``, ``judgement`` for Arena-Hard) and an empty ``<key>``, as
the reference writes it; the candidate's ``num_generated_tokens`` stay (the judge's are not counted)
and, with ``++add_generation_stats=True`` (the reference's default here), the judge's times replace
the generation's.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

from skills.config.errors import UsageError
from skills.inference.client import Client
from skills.inference.config import GenerateConfig
from skills.inference.program import main
from skills.inference.prompts import PromptBuilder, messages_to_text
from skills.inference.responses import Completion
from skills.inference.task import GenerationTask, cut_at_stop

ORDERS = ("gen-base", "base-gen")


@dataclass
class PairwiseJudgeConfig(GenerateConfig):
    candidate_key: str = "generation"  # the answer being judged
    baseline_key: str = "baseline_answer"  # the answer it is compared with


class PairwiseJudgeTask(GenerationTask):
    config_class = PairwiseJudgeConfig

    def prepare(self, entries: List[Tuple[int, Dict[str, Any]]], src: Path) -> List[Any]:
        builder = getattr(self, "_builder", None)
        if builder is None:
            builder = self._builder = PromptBuilder(self.cfg)
        self.prompt_source = builder.source
        self.prompt_notice = builder.prompt.notice if builder.prompt is not None else None
        cand, base = self.cfg.candidate_key, self.cfg.baseline_key
        requests: List[Any] = []
        for lineno, row in entries:
            where = f"{src}:{lineno}"
            for key in (cand, base):
                if not isinstance(row.get(key), str):
                    raise UsageError(f"{where}: the pairwise judge needs a text '{key}' "
                                     f"(got {type(row.get(key)).__name__})")
            pair = []
            for first, second in ((cand, base), (base, cand)):
                fields = dict(row, answer_1=row[first], answer_2=row[second])
                msgs = builder.messages(fields, where, suffix=self.chat)
                pair.append(msgs if self.chat else messages_to_text(msgs, self.cfg, fields))
            requests.append(pair)
        return requests

    def describe(self, request: Any) -> str:
        return super().describe(request[0])

    def _line(self, row: Dict[str, Any], texts: List[str], start: float, end: float,
              extra: Dict[str, Any]) -> Dict[str, Any]:
        key = self.cfg.generation_key
        out: Dict[str, Any] = {f"{key}-{order}": text for order, text in zip(ORDERS, texts)}
        out[key] = ""  # as the reference: downstream code expects the key
        out.update(extra)
        if self.cfg.add_generation_stats:
            out["generation_start_time"] = start
            out["generation_end_time"] = end
            out["generation_time"] = end - start
        for k, v in row.items():
            if k not in out:
                out[k] = v
        return out

    async def process(self, row: Dict[str, Any], request: Any, client: Client) -> Dict[str, Any]:
        start = time.time()
        comps: List[Completion] = list(await asyncio.gather(*(self.complete(client, r) for r in request)))
        stops = list(self.cfg.inference.stop) + ([self.cfg.stop_phrase] if self.cfg.stop_phrase else [])
        texts = [cut_at_stop(c.text, stops, self.cfg.keep_stop_phrase) for c in comps]
        return self._line(row, texts, start, time.time(), {})

    def failed(self, row: Dict[str, Any], error: Exception) -> Dict[str, Any]:
        now = time.time()
        return self._line(row, ["", ""], now, now, {"error": str(error)})


TASK = PairwiseJudgeTask

if __name__ == "__main__":
    sys.exit(main(task_cls=TASK, doc=__doc__))
