"""LLM scoring of rows with a schema-constrained answer: keep by threshold, or just record the score."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import LLMEvaluator, LLMFilter
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator

DEFAULT_TEMPLATE = "core_text/score"
DEFAULT_CRITERIA = "overall quality: factual, coherent, informative, well written"


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


class ScaleScoring:
    """Prompt, schema and answer of an integer score on a scale with a reason; mixed into an LLM kind.

    The template receives ``text`` (the ``input_key`` column), ``criteria``, ``min_score`` and
    ``max_score``; the score goes to ``output_key`` and the reason to ``output_reason_key``. On a filter
    kind, rows scoring below ``threshold`` are dropped with the reason ``<score column> < threshold``.
    """

    prompt_inputs = {"text": "input_key"}
    provided_variables = frozenset({"criteria", "min_score", "max_score"})
    criteria: str
    min_score: int
    max_score: int

    def set_scale(self, min_score: int, max_score: int, **prompt_values: Any) -> None:
        if min_score >= max_score:
            raise ValueError("min_score must be below max_score")
        self.min_score, self.max_score = min_score, max_score
        for name, value in prompt_values.items():
            setattr(self, name, value)

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.provided_variables}

    def schema(self) -> dict[str, Any]:
        return score_schema(self.min_score, self.max_score)

    def parse(self, answer: Any) -> dict[str, Any]:
        return {"output_key": int(answer.parsed["score"]), "output_reason_key": answer.parsed["reason"]}

    def keep(self, batch: pd.DataFrame, scores: dict[str, Any], ctx: Any) -> Any:
        """On a filter kind: keep the rows scoring at least ``self.threshold``."""
        return (np.asarray(scores["output_key"], dtype=float) >= self.threshold,  # type: ignore[attr-defined]
                f"{ctx.cols.output_key} < {self.threshold}")  # type: ignore[attr-defined]


class _PromptedScoring(ScaleScoring):
    input_key = InputColumn("text")
    output_key = OutputColumn("llm_score", "int")
    output_reason_key = OutputColumn("llm_score_reason", "str")


@register_operator
class PromptedEvaluator(_PromptedScoring, LLMEvaluator):
    """Scores each row with the LLM on an integer scale (``min_score``..``max_score``) against
    ``criteria``; writes the score to ``output_key`` and the model's reason to ``output_reason_key``.

    The answer is constrained by a JSON schema and validated, so every score is an integer in range.
    Drops nothing; rows whose call fails go to the rejects with the reason.
    """

    def __init__(self, criteria: str = DEFAULT_CRITERIA, min_score: int = 1, max_score: int = 5,
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None, max_tokens: int = 256,
                 llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, max_tokens=max_tokens, llm_serving=llm_serving)
        self.set_scale(min_score, max_score, criteria=criteria)


@register_operator
class PromptedFilter(_PromptedScoring, LLMFilter):
    """Like :class:`PromptedEvaluator`, then keeps rows scoring at least ``threshold``.

    Dropped rows carry the reason ``llm_score < threshold`` and keep the score and the model's reason
    in the cache, so ``dataflow inspect`` shows why.
    """

    def __init__(self, criteria: str = DEFAULT_CRITERIA, threshold: int = 4, min_score: int = 1, max_score: int = 5,
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None, max_tokens: int = 256,
                 llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, max_tokens=max_tokens, llm_serving=llm_serving)
        self.set_scale(min_score, max_score, criteria=criteria)
        self.threshold = threshold

