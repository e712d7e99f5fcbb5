"""Multi-aspect LLM quality score of a text, with a reason."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMEvaluator
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator

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
class LLMQualityScorer(LLMEvaluator):
    """Scores each text with the LLM on several aspects (``dimensions``: name -> what it means), each an
    integer in ``[min_score, max_score]``, plus a one-sentence reason.

    The answer is constrained by a JSON schema and validated, so every score is an integer in range.
    Writes the mean over the aspects to ``output_key`` (a float), the per-aspect scores (a dict) to
    ``output_scores_key`` and the reason to ``output_reason_key``. Drops nothing (follow it with a
    ``RangeFilter``-style step, or use ``AlpagasusFilter`` for SFT triples); rows whose answer stays
    invalid go to the rejects with the reason. The default aspects are coherence, informativeness and
    fluency, as in the reference's meta scoring.
    """

    prompt_inputs = {"text": "input_key"}
    provided_variables = frozenset({"dimensions", "min_score", "max_score"})
    input_key = InputColumn("text", "str")
    output_key = OutputColumn("quality_score", "number")
    output_scores_key = OutputColumn("quality_scores", "dict")
    output_reason_key = OutputColumn("quality_reason", "str")

    def __init__(self, dimensions: dict[str, str] | None = None, min_score: int = 1, max_score: int = 5,
                 prompt_template: str = "general_text/quality_score", system_prompt: str | None = None,
                 max_tokens: int = 224, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, max_tokens=max_tokens, llm_serving=llm_serving)
        if min_score >= max_score:
            raise ValueError("min_score must be below max_score")
        self.dimensions = dict(dimensions or DEFAULT_DIMENSIONS)
        if not self.dimensions:
            raise ValueError("dimensions must name at least one aspect")
        self.min_score, self.max_score = min_score, max_score

    def schema(self) -> dict[str, Any]:
        return quality_schema(list(self.dimensions), self.min_score, self.max_score)

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"dimensions": self.dimensions, "min_score": self.min_score, "max_score": self.max_score}

    def parse(self, answer: Any) -> dict[str, Any]:
        per_aspect = {d: int(answer.parsed["scores"][d]) for d in self.dimensions}
        return {"output_key": sum(per_aspect.values()) / len(per_aspect), "output_scores_key": per_aspect,
                "output_reason_key": answer.parsed["reason"]}
