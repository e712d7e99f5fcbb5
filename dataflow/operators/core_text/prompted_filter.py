"""LLM scoring of rows with a schema-constrained answer: keep by threshold, or just record the score."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import (
    REJECT_REASON,
    BatchResult,
    Bindings,
    Column,
    Evaluator,
    InputColumn,
    OutputColumn,
    split_dropped,
)
from dataflow.core.registry import register_operator
from dataflow.operators.core_text._llm import ask, row_values, template_or_none

DEFAULT_TEMPLATE = "core_text/score"


def score_schema(min_score: int, max_score: int) -> dict[str, Any]:
    # An enum rather than minimum/maximum, and no maxLength: llama.cpp's grammar enforces enums exactly but
    # ignores integer bounds, and turns string lengths into deeply nested rules that slow decoding
    # (max_tokens bounds the reason instead).
    return {
        "type": "object",
        "properties": {
            "reason": {"type": "string"},
            "score": {"type": "integer", "enum": list(range(min_score, max_score + 1))},
        },
        "required": ["reason", "score"],
        "additionalProperties": False,
    }


class _LLMScorer:
    """Scoring shared by :class:`PromptedEvaluator` and :class:`PromptedFilter`."""

    prompt_template: str
    criteria: str
    min_score: int
    max_score: int
    system_prompt: str | None
    max_tokens: int

    def _setup_template(self) -> None:
        self._template = template_or_none(self.prompt_template)

    def input_columns(self, bindings: Bindings) -> dict[str, Column]:
        cols = super().input_columns(bindings)  # type: ignore[misc]
        provided = {"criteria", "min_score", "max_score", "text"}
        cols.update({c: Column(c, "input", "any") for c in self._template.columns(provided)})
        return cols

    def score_rows(self, batch: pd.DataFrame, ctx: Any) -> tuple[list[Any], dict[int, str]]:
        extra = self._template.columns({"criteria", "min_score", "max_score", "text"})
        rows = row_values(batch, extra)
        texts = batch[ctx.cols.input_key].tolist()
        prompts = [self._template.render(criteria=self.criteria, min_score=self.min_score,
                                         max_score=self.max_score, text=t, **row) for t, row in zip(texts, rows)]
        results = ask(ctx, prompts, system=self.system_prompt, max_tokens=self.max_tokens,
                      json_schema=score_schema(self.min_score, self.max_score))
        failures = {i: f"llm: {r.error}" for i, r in enumerate(results) if r.error is not None}
        return results, failures


def _rejected(batch: pd.DataFrame, failures: dict[int, str]) -> pd.DataFrame | None:
    if not failures:
        return None
    bad = sorted(failures)
    return batch.iloc[bad].assign(**{REJECT_REASON: [failures[i] for i in bad]})


@register_operator
class PromptedEvaluator(_LLMScorer, Evaluator):
    """Scores each row with the LLM on an integer scale (``min_score``..``max_score``) against
    ``criteria``; writes the score to ``output_key`` and the model's reason to ``output_reason_key``.

    The answer is constrained by a JSON schema and validated, so every score is an integer in range.
    Drops nothing; rows whose call fails go to the rejects with the reason.
    """

    kind = "evaluate"
    resources = ("llm",)
    input_key = InputColumn("text")
    output_key = OutputColumn("llm_score", "int")
    output_reason_key = OutputColumn("llm_score_reason", "str")

    def __init__(self, criteria: str = "overall quality: factual, coherent, informative, well written",
                 min_score: int = 1, max_score: int = 5, prompt_template: str = DEFAULT_TEMPLATE,
                 system_prompt: str | None = None, max_tokens: int = 256, llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        if min_score >= max_score:
            raise ValueError("min_score must be below max_score")
        self.criteria, self.min_score, self.max_score = criteria, min_score, max_score
        self.prompt_template, self.system_prompt, self.max_tokens = prompt_template, system_prompt, max_tokens
        self._setup_template()

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        results, failures = self.score_rows(batch, ctx)
        ok = [i for i in range(len(batch)) if i not in failures]
        cols = {ctx.cols.output_key: [int(results[i].parsed["score"]) for i in ok]}
        if ctx.cols.get("output_reason_key"):
            cols[ctx.cols.output_reason_key] = [results[i].parsed["reason"] for i in ok]
        return BatchResult(batch.iloc[ok].assign(**cols), written=list(cols), rejected=_rejected(batch, failures))


@register_operator
class PromptedFilter(PromptedEvaluator):
    """Like :class:`PromptedEvaluator`, then keeps rows scoring at least ``threshold``.

    Dropped rows carry the reason ``llm_score < threshold`` and keep the score and the model's reason
    in the cache, so ``dataflow inspect`` shows why.
    """

    kind = "filter"

    def __init__(self, criteria: str = "overall quality: factual, coherent, informative, well written",
                 threshold: int = 4, min_score: int = 1, max_score: int = 5,
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None, max_tokens: int = 256,
                 llm_serving: Any = None) -> None:
        super().__init__(criteria, min_score, max_score, prompt_template, system_prompt, max_tokens, llm_serving)
        self.threshold = threshold

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        scored = super().process(batch, ctx)
        scores = scored.frame[ctx.cols.output_key].to_numpy(dtype=float)
        mask = scores >= self.threshold
        result = split_dropped(scored.frame, np.asarray(mask, dtype=bool),
                               f"{ctx.cols.output_key} < {self.threshold}", scored.written)
        result.rejected = scored.rejected
        result.kept = None  # rejected rows also left: let the engine match by row id
        return result
