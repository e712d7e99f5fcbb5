"""LLM check that a math question is well formed and solvable."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import LLMFilter
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.reasoning._llm_steps import is_blank

QUESTION_CHECK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string"},
        "is_valid": {"type": "boolean"},
    },
    "required": ["reason", "is_valid"],
    "additionalProperties": False,
}


@register_operator
class ReasoningQuestionFilter(LLMFilter):
    """Keeps math questions the LLM judges well formed and solvable.

    The model answers with the JSON schema ``{"reason": str, "is_valid": bool}`` (the reason comes first
    so the verdict follows from it). Invalid questions are dropped with the reason
    ``"invalid question: <model's reason>"``; blank questions are dropped without a call; rows whose
    call fails go to the rejects. The model's reason for kept rows is written to ``output_reason_key``
    when that binding is set.

    To re-check only some rows (e.g. newly generated questions after a first pass over the seeds),
    bind ``input_source_key`` and list the values to check in ``check_sources``; other rows pass as
    they are, without a call.
    """

    prompt_inputs = {"question": "input_key"}
    answer_keys = ("is_valid",)
    input_key = InputColumn("question")
    input_source_key = InputColumn(None, "str", nullable=True,
                                   description="rows whose value is in check_sources are checked")
    output_reason_key = OutputColumn(None, "str", description="the model's reason (kept rows)")

    def __init__(self, prompt_template: str = "reasoning/question_filter", system_prompt: str | None = None,
                 check_sources: list[str] | None = None, max_tokens: int = 128,
                 llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, max_tokens=max_tokens, llm_serving=llm_serving)
        self.check_sources = list(check_sources) if check_sources is not None else None

    def _rows_to_check(self, batch: pd.DataFrame, ctx: Any) -> np.ndarray:
        source_col = ctx.cols.get("input_source_key")
        if source_col is None or self.check_sources is None:
            return np.ones(len(batch), dtype=bool)
        return batch[source_col].isin(self.check_sources).to_numpy()

    def _asked(self, batch: pd.DataFrame, ctx: Any) -> np.ndarray:
        """Rows the model is asked about: checked, with a question."""
        questions = batch[ctx.cols.input_key].tolist()
        return self._rows_to_check(batch, ctx) & np.array([not is_blank(q) for q in questions], dtype=bool)

    def schema(self) -> dict[str, Any]:
        return QUESTION_CHECK_SCHEMA

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        return [p if asked else None for p, asked in zip(super().prompts(batch, ctx), self._asked(batch, ctx))]

    def parse(self, answer: Any) -> dict[str, Any]:
        return {"output_reason_key": str(answer.parsed["reason"]).strip(), "is_valid": answer.parsed["is_valid"]}

    def keep(self, batch: pd.DataFrame, scores: dict[str, Any], ctx: Any) -> Any:
        blank = self._rows_to_check(batch, ctx) & ~self._asked(batch, ctx)
        invalid = np.array([v is not None and not v for v in scores["is_valid"]], dtype=bool)
        reasons = np.full(len(batch), "", dtype=object)
        reasons[blank] = "empty question"
        reasons[invalid] = [f"invalid question: {r}" for r in np.asarray(scores["output_reason_key"], dtype=object)[invalid]]
        return ~(blank | invalid), reasons
