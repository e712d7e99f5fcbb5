"""An LLM judge of whether a solution reaches the reference answer, as a filter."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import LLMFilter, column_texts
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.qa_metrics import exact_match


@register_operator
class ReasoningAnswerModelJudgeFilter(LLMFilter):
    """Asks the LLM whether the solution (``input_answer_key``) to the question (``input_question_key``)
    reaches the reference answer (``input_reference_key``), for answers a rule cannot compare (free text,
    proofs); writes the verdict to ``output_key`` and the judge's reason to ``output_reason_key``, and
    drops the rows judged wrong (``answer does not match the reference``), or keeps every row with
    ``keep_all_samples`` (the verdict column then says which are right), as the reference DataFlow's
    operator of this name does.

    Decided without a call: no reference (False: ``no reference``; the reference does the same), no
    solution (False), a solution equal to the reference after normalisation (True). The answer follows
    the schema ``{correct: bool, reason: str}`` (template ``reasoning/answer_judge``: ``question``,
    ``solution``, ``reference``). A failed call rejects the row.
    """

    input_question_key = InputColumn("question", "str", nullable=True)
    input_answer_key = InputColumn("answer", "str", nullable=True)
    input_reference_key = InputColumn("reference_answer", "str", nullable=True)
    output_key = OutputColumn("answer_match_result", "bool")
    output_reason_key = OutputColumn("answer_match_reason", "str")
    prompt_inputs = {"question": "input_question_key", "solution": "input_answer_key",
                     "reference": "input_reference_key"}

    def __init__(self, keep_all_samples: bool = False, prompt_template: str = "reasoning/answer_judge",
                 system_prompt: str | None = None, max_tokens: int = 160, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, 0.0, max_tokens, 0, llm_serving=llm_serving)
        self.keep_all_samples = keep_all_samples

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"correct": {"type": "boolean"},
                                                 "reason": {"type": "string", "maxLength": 200}},
                "required": ["correct", "reason"], "additionalProperties": False}

    def parse(self, answer: LLMResult) -> Any:
        return {"output_key": bool(answer.parsed["correct"]), "output_reason_key": answer.parsed["reason"].strip()}

    def score(self, batch: pd.DataFrame, ctx: Any) -> Any:
        decided: list[Any] = []
        for solution, reference in zip(column_texts(batch, ctx.cols.input_answer_key),
                                       column_texts(batch, ctx.cols.input_reference_key)):
            why = "no reference" if not reference.strip() else "no solution" if not solution.strip() else None
            if why is None and exact_match(solution, [reference]):
                decided.append({"output_key": True, "output_reason_key": "exact match"})
            else:
                decided.append(None if why is None else {"output_key": False, "output_reason_key": why})
        prompts = [None if d is not None else p for d, p in zip(decided, self.prompts(batch, ctx))]
        if any(p is not None for p in prompts):
            decided = [d if d is not None else a for d, a in zip(decided, self.ask(batch, ctx, prompts))]
        return {name: [a if not isinstance(a, dict) else a[name] for a in decided]
                for name in ("output_key", "output_reason_key")}

    def keep(self, batch: pd.DataFrame, scores: dict[str, Any], ctx: Any) -> Any:
        verdict = np.asarray(scores["output_key"], dtype=bool)
        return (np.ones(len(verdict), dtype=bool) if self.keep_all_samples else verdict,
                "answer does not match the reference")
