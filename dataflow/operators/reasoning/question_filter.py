"""LLM check that a math question is well formed and solvable."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import BatchResult, Filter, InputColumn, OutputColumn, split_dropped
from dataflow.core.registry import register_operator
from dataflow.operators.reasoning._llm_steps import TemplatedLLM, ask, is_blank, rejected_rows

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
class ReasoningQuestionFilter(TemplatedLLM, Filter):
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

    resources = ("llm",)
    input_key = InputColumn("question")
    input_source_key = InputColumn(None, "str", nullable=True,
                                   description="rows whose value is in check_sources are checked")
    output_reason_key = OutputColumn(None, "str", description="the model's reason (kept rows)")

    def __init__(self, prompt_template: str = "reasoning/question_filter", system_prompt: str | None = None,
                 check_sources: list[str] | None = None, max_tokens: int = 128,
                 llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        self.prompt_template = prompt_template
        self.system_prompt = system_prompt
        self.check_sources = list(check_sources) if check_sources is not None else None
        self.max_tokens = max_tokens
        self._setup_template()

    def _rows_to_check(self, batch: pd.DataFrame, ctx: Any) -> np.ndarray:
        source_col = ctx.cols.get("input_source_key")
        if source_col is None or self.check_sources is None:
            return np.ones(len(batch), dtype=bool)
        return batch[source_col].isin(self.check_sources).to_numpy()

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        questions = batch[ctx.cols.input_key].tolist()
        check = self._rows_to_check(batch, ctx)
        mask = np.ones(len(batch), dtype=bool)
        reasons = np.full(len(batch), "", dtype=object)
        model_reasons: list[Any] = [None] * len(batch)
        blank = [i for i, q in enumerate(questions) if check[i] and is_blank(q)]
        mask[blank] = False
        reasons[blank] = "empty question"
        todo = [i for i in range(len(batch)) if check[i] and i not in set(blank)]
        prompts = self.render_prompts(batch.iloc[todo], question=[questions[i] for i in todo])
        results = ask(ctx, prompts, system=self.system_prompt, json_schema=QUESTION_CHECK_SCHEMA,
                      max_tokens=self.max_tokens)
        failures: dict[int, str] = {}
        for i, result in zip(todo, results):
            if result.error is not None:
                failures[i] = f"llm: {result.error}"
                continue
            model_reasons[i] = str(result.parsed["reason"]).strip()
            if not result.parsed["is_valid"]:
                mask[i] = False
                reasons[i] = f"invalid question: {model_reasons[i]}"
        ok = np.array([i not in failures for i in range(len(batch))], dtype=bool)
        frame = batch
        written: list[str] = []
        reason_col = ctx.cols.get("output_reason_key")
        if reason_col:
            frame = batch.assign(**{reason_col: model_reasons})
            written = [reason_col]
        result = split_dropped(frame[ok], mask[ok], reasons[ok], written)
        result.rejected = rejected_rows(batch, failures)
        if failures:
            result.kept = None  # rejected rows left as well: the engine matches rows by id
        return result
