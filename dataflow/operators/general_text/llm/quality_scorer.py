"""Multi-aspect LLM quality score of a text, with a reason."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import BatchResult, Evaluator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.core_text._llm import ask
from dataflow.operators.general_text.llm._shared import (
    TemplatedLLM,
    column_texts,
    llm_failures,
    rejected_rows,
)

DEFAULT_DIMENSIONS = {
    "coherence": "the text is logically organised and easy to follow",
    "informativeness": "the text carries useful, specific information",
    "fluency": "the text is grammatical and reads naturally",
}


def quality_schema(dimensions: list[str], min_score: int, max_score: int) -> dict[str, Any]:
    """``{"reason": str (<= 400 chars), "scores": {dimension: int in range, ...}}``, every key required."""
    score = {"type": "integer", "minimum": min_score, "maximum": max_score}
    return {
        "type": "object",
        "properties": {
            "reason": {"type": "string", "maxLength": 400},
            "scores": {"type": "object", "properties": {d: score for d in dimensions},
                       "required": list(dimensions), "additionalProperties": False},
        },
        "required": ["reason", "scores"],
        "additionalProperties": False,
    }


@register_operator
class LLMQualityScorer(TemplatedLLM, Evaluator):
    """Scores each text with the LLM on several aspects (``dimensions``: name -> what it means), each an
    integer in ``[min_score, max_score]``, plus a one-sentence reason.

    The answer is constrained by a JSON schema and validated, so every score is an integer in range.
    Writes the mean over the aspects to ``output_key`` (a float), the per-aspect scores (a dict) to
    ``output_scores_key`` and the reason to ``output_reason_key``. Drops nothing (follow it with a
    ``RangeFilter``-style step, or use ``AlpagasusFilter`` for SFT triples); rows whose answer stays
    invalid go to the rejects with the reason. The default aspects are coherence, informativeness and
    fluency, as in the reference's meta scoring.
    """

    kind = "evaluate"
    resources = ("llm",)
    provided_variables = frozenset({"text", "dimensions", "min_score", "max_score"})
    input_key = InputColumn("text", "str")
    output_key = OutputColumn("quality_score", "number")
    output_scores_key = OutputColumn("quality_scores", "dict")
    output_reason_key = OutputColumn("quality_reason", "str")

    def __init__(self, dimensions: dict[str, str] | None = None, min_score: int = 1, max_score: int = 5,
                 prompt_template: str = "general_text/quality_score", system_prompt: str | None = None,
                 max_tokens: int = 224, llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        if min_score >= max_score:
            raise ValueError("min_score must be below max_score")
        self.dimensions = dict(dimensions or DEFAULT_DIMENSIONS)
        if not self.dimensions:
            raise ValueError("dimensions must name at least one aspect")
        self.min_score, self.max_score = min_score, max_score
        self.prompt_template, self.system_prompt, self.max_tokens = prompt_template, system_prompt, max_tokens
        self._setup_template()

    def schema(self) -> dict[str, Any]:
        return quality_schema(list(self.dimensions), self.min_score, self.max_score)

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        cols = ctx.cols
        prompts = self.render_prompts(batch, text=column_texts(batch, cols.input_key),
                                      dimensions=self.dimensions, min_score=self.min_score,
                                      max_score=self.max_score)
        results = ask(ctx, prompts, system=self.system_prompt, json_schema=self.schema(),
                      max_tokens=self.max_tokens)
        failures = llm_failures(results)
        ok = [i for i in range(len(batch)) if i not in failures]
        per_aspect = [{d: int(results[i].parsed["scores"][d]) for d in self.dimensions} for i in ok]
        written: dict[str, list[Any]] = {
            cols.output_key: [sum(s.values()) / len(s) for s in per_aspect]}
        if cols.get("output_scores_key"):
            written[cols.output_scores_key] = per_aspect
        if cols.get("output_reason_key"):
            written[cols.output_reason_key] = [results[i].parsed["reason"] for i in ok]
        return BatchResult(batch.iloc[ok].assign(**written), written=list(written),
                           rejected=rejected_rows(batch, failures))
