"""Alpagasus-style rating of instruction-tuning triples (instruction, input, response)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import BatchResult, Evaluator, InputColumn, OutputColumn, split_dropped
from dataflow.core.registry import register_operator
from dataflow.operators.core_text._llm import ask
from dataflow.operators.general_text.llm._shared import (
    TemplatedLLM,
    column_texts,
    llm_failures,
    rating_schema,
    rejected_rows,
)

DEFAULT_TEMPLATE = "general_text/alpagasus"


@register_operator
class AlpagasusScorer(TemplatedLLM, Evaluator):
    """Rates each (instruction, input, response) triple for accuracy and helpfulness, AlpaGasus style.

    The LLM answers a JSON schema ``{"reason": str (<= 300 chars), "score": int in [min_score,
    max_score]}``, validated by the serving; the score goes to ``output_key`` and the reason to
    ``output_reason_key``. ``input_input_key`` is optional (bind it for Alpaca-style data with a
    separate input field). Drops nothing; rows whose answer stays invalid go to the rejects with the
    reason. The template (``general_text/alpagasus`` by default) receives ``instruction``, ``input``,
    ``response``, ``min_score`` and ``max_score``; any other variable it uses is read from a column.
    """

    kind = "evaluate"
    resources = ("llm",)
    provided_variables = frozenset({"instruction", "input", "response", "min_score", "max_score"})
    input_instruction_key = InputColumn("instruction", "str")
    input_input_key = InputColumn(None, "str", nullable=True, description="optional context of the instruction")
    input_output_key = InputColumn("output", "str")
    output_key = OutputColumn("alpagasus_score", "int")
    output_reason_key = OutputColumn("alpagasus_reason", "str")

    def __init__(self, min_score: int = 1, max_score: int = 5, prompt_template: str = DEFAULT_TEMPLATE,
                 system_prompt: str | None = None, max_tokens: int = 192, llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        if min_score >= max_score:
            raise ValueError("min_score must be below max_score")
        self.min_score, self.max_score = min_score, max_score
        self.prompt_template, self.system_prompt, self.max_tokens = prompt_template, system_prompt, max_tokens
        self._setup_template()

    def schema(self) -> dict[str, Any]:
        return rating_schema(self.min_score, self.max_score)

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        cols = ctx.cols
        prompts = self.render_prompts(
            batch, instruction=column_texts(batch, cols.input_instruction_key),
            input=column_texts(batch, cols.get("input_input_key")),
            response=column_texts(batch, cols.input_output_key),
            min_score=self.min_score, max_score=self.max_score)
        results = ask(ctx, prompts, system=self.system_prompt, json_schema=self.schema(),
                      max_tokens=self.max_tokens)
        failures = llm_failures(results)
        ok = [i for i in range(len(batch)) if i not in failures]
        written = {cols.output_key: [int(results[i].parsed["score"]) for i in ok]}
        if cols.get("output_reason_key"):
            written[cols.output_reason_key] = [results[i].parsed["reason"] for i in ok]
        return BatchResult(batch.iloc[ok].assign(**written), written=list(written),
                           rejected=rejected_rows(batch, failures))


@register_operator
class AlpagasusFilter(AlpagasusScorer):
    """Like :class:`AlpagasusScorer`, then keeps the triples scoring at least ``threshold``.

    Dropped rows carry the reason ``alpagasus_score < threshold`` (the score column's name) and keep
    the score and the model's reason in the cache, so ``dataflow inspect`` shows why.
    """

    kind = "filter"

    def __init__(self, threshold: int = 4, min_score: int = 1, max_score: int = 5,
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 max_tokens: int = 192, llm_serving: Any = None) -> None:
        super().__init__(min_score, max_score, prompt_template, system_prompt, max_tokens, llm_serving)
        if not min_score <= threshold <= max_score:
            raise ValueError("threshold must lie within [min_score, max_score]")
        self.threshold = threshold

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        scored = super().process(batch, ctx)
        scores = scored.frame[ctx.cols.output_key].to_numpy(dtype=float)
        result = split_dropped(scored.frame, np.asarray(scores >= self.threshold, dtype=bool),
                               f"{ctx.cols.output_key} < {self.threshold}", scored.written)
        result.rejected = scored.rejected
        result.kept = None  # rejected rows left too: the engine matches the survivors by row id
        return result
