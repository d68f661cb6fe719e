"""The LLM contamination check: ``python -m skills.inference.check_contamination ++input_file=IN
++output_file=OUT ...`` (``ns generate --generation_type=check_contamination``, the reference's
``nemo_skills.inference.check_contamination``).

Its input is what ``python -m skills.inference.retrieve_similar`` writes: one line per test problem
with the problem (``retrieve_key``, default ``problem``) and its closest training problems
(``similar_items``). For each of the first ``top_k`` similar items (default: as many as the first
line has) the model is asked, with the prompt ``judge/check-contamination`` of the reference's
prompt set, whether the two problems are the same: the prompt's ``{problem1}`` is the test problem,
``{problem2}`` the similar one (``<retrieve_key>1`` / ``<retrieve_key>2``); with
``++check_both_ways=True`` each pair is also asked the other way round. A line is contaminated when
any answer is exactly ``True`` (stripped); without asking the model when the problem equals one of
its similar items (stripped, lower case, any of them, not only the first ``top_k``).

Output line: ``contaminated`` (true/false), ``all_generations`` (every answer, in the order asked;
absent on lines decided without the model), the generation times, then the input fields. At the end
the program logs ``Contamination portion: P% (N/TOTAL)`` over the output file, as the reference does.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.inference.client import Client
from skills.inference.config import GenerateConfig
from skills.inference.program import GenerationTask, build_output, main
from skills.inference.prompts import PromptBuilder, messages_to_text
from skills.inference.settings import log


@dataclass
class CheckContaminationConfig(GenerateConfig):
    prompt_config: Optional[str] = "judge/check-contamination"
    generation_key: str = "contaminated"
    # the input field holding the problem; the prompt is filled with <retrieve_key>1 and <retrieve_key>2
    retrieve_key: str = "problem"
    # also ask with the two problems swapped; contaminated if any answer says so
    check_both_ways: bool = False
    # how many of each line's similar items to ask about (None: as many as the first line has)
    top_k: Optional[int] = None


def pair_fields(cfg: CheckContaminationConfig, problem: Any, similar: Any) -> List[Dict[str, Any]]:
    """The prompt fields of the questions asked about one (problem, similar item) pair, in order."""
    key = cfg.retrieve_key
    asked = [{f"{key}1": problem, f"{key}2": similar}]
    if cfg.check_both_ways:
        asked.append({f"{key}1": similar, f"{key}2": problem})
    return asked


def exact_match(row: Dict[str, Any], key: str) -> bool:
    """The problem equals one of its similar items (stripped, lower case): contaminated without asking."""
    problem = str(row[key]).strip().lower()
    return any(str(item).strip().lower() == problem for item in row["similar_items"])


def contamination_summary(path: Path, key: str = "contaminated") -> Optional[str]:
    """The reference's closing line over a finished output file, or None when it has no lines."""
    total = flagged = 0
    with open(path, encoding="utf-8") as fin:
        for line in fin:
            if not line.strip():
                continue
            total += 1
            flagged += bool(json.loads(line).get(key))
    if not total:
        return None
    return f"Contamination portion: {100 * flagged / total:.2f}% ({flagged}/{total})"


class CheckContaminationTask(GenerationTask):
    config_class = CheckContaminationConfig

    @classmethod
    def check(cls, cfg: CheckContaminationConfig) -> None:
        super().check(cfg)
        if cfg.code_execution:
            raise UsageError("check_contamination does not run code: leave ++code_execution unset")
        if cfg.prompt_format != "ns":
            raise UsageError("check_contamination fills its prompt from the retrieved pairs: "
                             "++prompt_format must be ns")
        if cfg.top_k is not None and cfg.top_k < 1:
            raise UsageError(f"++top_k must be >= 1, not {cfg.top_k}")

    def prepare(self, entries: List[Tuple[int, Dict[str, Any]]], src: Path) -> List[Any]:
        """Per row, the requests of its pairs (none for a row decided by an exact match)."""
        cfg = self.cfg
        builder = PromptBuilder(cfg)
        self.prompt_source = builder.source
        self.prompt_notice = builder.prompt.notice if builder.prompt is not None else None
        key = cfg.retrieve_key
        for lineno, row in entries:
            where = f"{src}:{lineno}"
            if key not in row:
                raise UsageError(f"{where}: no '{key}' field (++retrieve_key names the problem field)")
            if not isinstance(row.get("similar_items"), list):
                raise UsageError(f"{where}: no 'similar_items' list (the output of "
                                 "python -m skills.inference.retrieve_similar)")
        # as the reference: the first row decides how many similar items are asked about
        self.top_k = cfg.top_k if cfg.top_k is not None else (len(entries[0][1]["similar_items"]) if entries else 0)
        requests: List[Any] = []
        for lineno, row in entries:
            asked: List[Any] = []
            if not exact_match(row, key):
                for similar in row["similar_items"][: self.top_k]:
                    for fields in pair_fields(cfg, row[key], similar):
                        msgs = builder.messages(fields, f"{src}:{lineno}", suffix=self.chat)
                        asked.append(msgs if self.chat else messages_to_text(msgs, cfg, fields))
            requests.append(asked)
        return requests

    def describe(self, request: Any) -> str:
        return super().describe(request[0]) if request else "(decided without the model: an exact match)"

    async def process(self, row: Dict[str, Any], request: Any, client: Client) -> Dict[str, Any]:
        key = self.cfg.generation_key
        if exact_match(row, self.cfg.retrieve_key):
            out: Dict[str, Any] = {key: True}
        else:
            start = time.time()
            completions = await asyncio.gather(*(self.complete(client, r) for r in request))
            end = time.time()
            # each answer as a generation line would hold it (stop phrases cut, reasoning parsed when asked)
            answers = [build_output(self.cfg, {}, comp, start, end)[key] for comp in completions]
            out = {key: any(a.strip() == "True" for a in answers), "all_generations": answers}
            if self.cfg.add_generation_stats:
                out.update(generation_start_time=start, generation_end_time=end, generation_time=end - start)
        out.update((k, v) for k, v in row.items() if k not in out)
        return out

    def failed(self, row: Dict[str, Any], error: Exception) -> Dict[str, Any]:
        out: Dict[str, Any] = {self.cfg.generation_key: False, "all_generations": [], "error": str(error)}
        out.update((k, v) for k, v in row.items() if k not in out)
        return out


TASK = CheckContaminationTask


def run_with_summary(argv: Optional[Sequence[str]] = None) -> int:
    """The generation program, then the contamination rate of the finished file (the reference's
    ``postprocess``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    rc = main(argv, task_cls=TASK, doc=__doc__)
    if rc != 0 or any(a in ("--help", "-h", "--hydra-help") for a in argv):
        return rc
    from skills.inference.merge_chunks import chunk_path
    from skills.inference.settings import load_config

    cfg = load_config(argv, CheckContaminationConfig, check=False)
    if cfg.dry_run or not cfg.output_file:
        return rc
    output = Path(cfg.output_file)
    target = output if output.exists() or cfg.num_chunks is None else chunk_path(output, cfg.chunk_id)
    if target.exists():
        line = contamination_summary(target, cfg.generation_key)
        if line:
            log(line)
    return rc


if __name__ == "__main__":
    sys.exit(run_with_summary())
