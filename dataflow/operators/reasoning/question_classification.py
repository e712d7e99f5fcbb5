"""LLM labels for math questions: difficulty (1-10, with a reason) and category (a fixed list)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMEvaluator
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.reasoning._llm_steps import QuestionPrompts

DEFAULT_CATEGORIES = (
    "arithmetic",
    "algebra",
    "geometry",
    "number theory",
    "combinatorics",
    "probability and statistics",
    "calculus and analysis",
    "other",
)


class _QuestionLabeler(QuestionPrompts, LLMEvaluator):
    """One schema-constrained call per question; blank questions and failed calls go to the rejects."""

    input_key = InputColumn("question")


@register_operator
class ReasoningQuestionDifficultySampleEvaluator(_QuestionLabeler):
    """Rates each math question's difficulty from 1 to 10 with the LLM, with a one-sentence reason.

    The answer is constrained by the JSON schema ``{"reason": str, "difficulty": integer 1..10}`` (an
    ``enum``, which the embedded backend's grammar enforces token by token) and validated, so every
    score is an integer in range. Writes ``output_key`` (the score) and
    ``output_reason_key``. Drops nothing; failed calls go to the rejects.
    """

    output_key = OutputColumn("question_difficulty", "int")
    output_reason_key = OutputColumn("question_difficulty_reason", "str")

    def __init__(self, prompt_template: str = "reasoning/question_difficulty", system_prompt: str | None = None,
                 max_tokens: int = 128, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, max_tokens=max_tokens, llm_serving=llm_serving)

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "reason": {"type": "string"},
                "difficulty": {"type": "integer", "enum": list(range(1, 11))},
            },
            "required": ["reason", "difficulty"],
            "additionalProperties": False,
        }

    def parse(self, answer: Any) -> dict[str, Any]:
        return {"output_key": int(answer.parsed["difficulty"]), "output_reason_key": str(answer.parsed["reason"]).strip()}


@register_operator
class ReasoningQuestionCategorySampleEvaluator(_QuestionLabeler):
    """Puts each math question into one category of a fixed list with the LLM.

    The list (``categories``; default: arithmetic, algebra, geometry, number theory, combinatorics,
    probability and statistics, calculus and analysis, other) becomes a JSON-schema ``enum``, so the
    model can only answer one of them. Writes ``output_key``; drops nothing; failed calls go to the
    rejects.
    """

    provided_variables = frozenset({"categories"})
    output_key = OutputColumn("question_category", "str")

    def __init__(self, categories: list[str] | None = None,
                 prompt_template: str = "reasoning/question_category", system_prompt: str | None = None,
                 max_tokens: int = 32, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, max_tokens=max_tokens, llm_serving=llm_serving)
        self.categories = list(categories) if categories is not None else list(DEFAULT_CATEGORIES)
        if not self.categories or len(set(self.categories)) != len(self.categories):
            raise ValueError("categories must be a non-empty list without repeats")

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"category": {"type": "string", "enum": self.categories}},
            "required": ["category"],
            "additionalProperties": False,
        }

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"categories": [self.categories] * len(batch)}  # one list for every row

    def parse(self, answer: Any) -> dict[str, Any]:
        return {"output_key": str(answer.parsed["category"])}
