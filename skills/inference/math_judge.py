"""The LLM math judge: ``python -m skills.inference.math_judge ++input_file=IN ++output_file=OUT ...``
(``--judge_generation_type=math_judge``, the reference's ``nemo_skills.inference.llm_math_judge``).

A generation program whose defaults make it a judge of final answers: prompt ``judge/math`` (asks
whether the predicted and the expected answer are the same, ending with ``Judgement: Yes|No``),
output key ``judgement``, no token statistics of its own (the judged line keeps the generation's).
As in the reference, a row without ``predicted_answer`` gets one extracted from its ``generation``
(``\\boxed{}``), and two cases are decided without asking the model, with the reference's wording:
no answer (None or empty) is a "No", and an answer whose text equals the expected one (both
stripped) is a "Yes". Verdicts are read by ``skills.evaluation.judge``; the math metrics turn them
into ``judge_correct`` next to ``symbolic_correct`` (docs/judge.md).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Dict, Optional

from skills.evaluation.math_grader import extract_answer
from skills.inference.client import Client
from skills.inference.config import GenerateConfig
from skills.inference.program import GenerationTask, main

# The reference's prefilled judgements (nemo_skills.utils.prefill_judgement), byte for byte: the
# verdict parser and anyone comparing judged files with the reference's see the same text.
NO_ANSWER = "Reasoning: No answer was provided.\nJudgement: No"
IDENTICAL = "Reasoning: The two answers are identical.\nJudgement: Yes"


@dataclass
class MathJudgeConfig(GenerateConfig):
    prompt_config: Optional[str] = "judge/math"
    generation_key: str = "judgement"
    add_generation_stats: bool = False


def prefilled_judgement(row: Dict[str, Any]) -> Optional[str]:
    """The verdict of a row that needs no model (no answer, or the expected answer verbatim), else None."""
    predicted = row.get("predicted_answer")
    if predicted is None or predicted == "":
        return NO_ANSWER
    if str(predicted).strip() == str(row.get("expected_answer")).strip():
        return IDENTICAL
    return None


class MathJudgeTask(GenerationTask):
    config_class = MathJudgeConfig

    def preprocess_row(self, row: Dict[str, Any]) -> None:
        if "predicted_answer" not in row:  # not graded yet: the answer the math grader would take
            row["predicted_answer"] = extract_answer(row.get("generation"))

    async def process(self, row: Dict[str, Any], request: Any, client: Client) -> Dict[str, Any]:
        verdict = prefilled_judgement(row)
        if verdict is None:
            return await super().process(row, request, client)
        out: Dict[str, Any] = {self.cfg.generation_key: verdict}
        out.update((k, v) for k, v in row.items() if k not in out)
        return out


TASK = MathJudgeTask

if __name__ == "__main__":
    sys.exit(main(task_cls=TASK, doc=__doc__))
