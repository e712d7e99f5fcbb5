"""LLM review of (instruction, code) pairs: an integer quality score with feedback, and a filter on it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import LLMEvaluator, LLMFilter
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.code.llm_shared import blank_rejects

#: The score scale: 1 (wrong or unusable) to 10 (correct, complete, clear and efficient), as the reference's.
SCALE = (1, 10)
DEFAULT_TEMPLATE = "code/quality_score"


def quality_schema() -> dict[str, Any]:
    """``{"feedback": str, "score": int on the scale}``: feedback first, so the score follows the review.
    The score is an enum (llama.cpp's grammar enforces enums exactly, integer bounds not at all); the
    feedback's length is bounded by ``max_tokens`` rather than ``maxLength`` (slow in the grammar)."""
    return {"type": "object",
            "properties": {"feedback": {"type": "string"},
                           "score": {"type": "integer", "enum": list(range(SCALE[0], SCALE[1] + 1))}},
            "required": ["feedback", "score"], "additionalProperties": False}


class _QualityReview:
    """Prompt, schema and answer of the review, mixed into an LLM kind. Rows with a blank instruction or
    blank code are rejected without a call."""

    prompt_inputs = {"instruction": "input_instruction_key", "code": "input_code_key"}
    provided_variables = frozenset({"language", "min_score", "max_score"})
    input_instruction_key = InputColumn("instruction", "str")
    input_code_key = InputColumn("code", "str")
    output_score_key = OutputColumn("quality_score", "int")
    output_feedback_key = OutputColumn("quality_feedback", "str")
    language: str

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        # The template's min_score/max_score are the scale's ends (the filter's bounds are its own).
        return {"language": self.language, "min_score": SCALE[0], "max_score": SCALE[1]}

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        prompts = super().prompts(batch, ctx)  # type: ignore[misc]
        prompts = blank_rejects(prompts, batch[ctx.cols.input_instruction_key].tolist(), "instruction")
        return blank_rejects(prompts, batch[ctx.cols.input_code_key].tolist(), "code")

    def schema(self) -> dict[str, Any]:
        return quality_schema()

    def parse(self, answer: Any) -> dict[str, Any]:
        return {"output_score_key": int(answer.parsed["score"]),
                "output_feedback_key": answer.parsed["feedback"].strip()}


@register_operator
class CodeQualitySampleEvaluator(_QualityReview, LLMEvaluator):
    """Reviews each (instruction, code) pair with the LLM, as a code reviewer would: an integer score
    from 1 (wrong or unusable) to 10 (correct, complete, clear and efficient) and brief feedback.

    The criteria are those of the reference: correctness and completeness (edge cases, imports),
    clarity and conventions (PEP 8), efficiency. The answer is constrained by a JSON schema
    (``{"feedback": str, "score": int in 1..10}``) and validated, so every score is an integer on the
    scale; it goes to ``output_score_key`` and the feedback to ``output_feedback_key``. Drops nothing;
    rows whose answer stays invalid, or whose instruction or code is blank, go to the rejects with the
    reason. The template (``code/quality_score``) receives ``instruction``, ``code``, ``language``,
    ``min_score`` and ``max_score`` (the scale).
    """

    def __init__(self, language: str = "Python", prompt_template: str = DEFAULT_TEMPLATE,
                 system_prompt: str | None = None, max_tokens: int = 256, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, max_tokens=max_tokens, llm_serving=llm_serving)
        self.language = language


@register_operator
class CodeQualityScoreFilter(_QualityReview, LLMFilter):
    """Like :class:`CodeQualitySampleEvaluator`, then keeps the pairs scoring within ``[min_score,
    max_score]`` (both on the 1-10 scale; the reference keeps 7-10).

    Dropped rows carry the reason ``quality_score < 7`` (or ``> max_score``; the score column's name)
    and keep the score and the feedback in the cache, so ``dataflow inspect`` shows why. Unlike the
    reference, an answer that cannot be read is not kept with score 0: the row goes to the rejects.
    """

    def __init__(self, min_score: int = 7, max_score: int = 10, language: str = "Python",
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 max_tokens: int = 256, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, max_tokens=max_tokens, llm_serving=llm_serving)
        if not SCALE[0] <= min_score <= max_score <= SCALE[1]:
            raise ValueError(f"need {SCALE[0]} <= min_score <= max_score <= {SCALE[1]}")
        self.min_score, self.max_score, self.language = min_score, max_score, language

    def keep(self, batch: pd.DataFrame, scores: dict[str, Any], ctx: Any) -> Any:
        values = np.asarray(scores["output_score_key"], dtype=float)
        name = ctx.cols.output_score_key or "quality_score"
        reasons = np.where(values < self.min_score, f"{name} < {self.min_score}", f"{name} > {self.max_score}")
        return (values >= self.min_score) & (values <= self.max_score), reasons.astype(object)
