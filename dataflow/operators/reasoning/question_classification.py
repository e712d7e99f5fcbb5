"""LLM labels for math questions: difficulty (1-10, with a reason) and category (a fixed list)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import BatchResult, Evaluator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.reasoning._llm_steps import TemplatedLLM, ask, is_blank, rejected_rows

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


class _QuestionLabeler(TemplatedLLM, Evaluator):
    """One schema-constrained call per question; blank questions and failed calls go to the rejects."""

    resources = ("llm",)
    input_key = InputColumn("question")
    system_prompt: str | None
    max_tokens: int

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def template_values(self, n: int) -> dict[str, list[Any]]:
        return {}

    def columns_from(self, parsed: list[dict[str, Any]], ctx: Any) -> dict[str, list[Any]]:
        raise NotImplementedError

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        questions = batch[ctx.cols.input_key].tolist()
        failures = {i: "empty question" for i, q in enumerate(questions) if is_blank(q)}
        todo = [i for i in range(len(batch)) if i not in failures]
        prompts = self.render_prompts(batch.iloc[todo], question=[questions[i] for i in todo],
                                      **self.template_values(len(todo)))
        results = ask(ctx, prompts, system=self.system_prompt, json_schema=self.schema(),
                      max_tokens=self.max_tokens)
        for i, result in zip(todo, results):
            if result.error is not None:
                failures[i] = f"llm: {result.error}"
        ok = [i for i in range(len(batch)) if i not in failures]
        by_row = {i: r.parsed for i, r in zip(todo, results) if r.error is None}
        columns = self.columns_from([by_row[i] for i in ok], ctx)
        return BatchResult(batch.iloc[ok].assign(**columns), written=list(columns),
                           rejected=rejected_rows(batch, failures))


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
        super().__init__(llm_serving)
        self.prompt_template = prompt_template
        self.system_prompt = system_prompt
        self.max_tokens = max_tokens
        self._setup_template()

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

    def columns_from(self, parsed: list[dict[str, Any]], ctx: Any) -> dict[str, list[Any]]:
        columns = {ctx.cols.output_key: [int(p["difficulty"]) for p in parsed]}
        if ctx.cols.get("output_reason_key"):
            columns[ctx.cols.output_reason_key] = [str(p["reason"]).strip() for p in parsed]
        return columns


@register_operator
class ReasoningQuestionCategorySampleEvaluator(_QuestionLabeler):
    """Puts each math question into one category of a fixed list with the LLM.

    The list (``categories``; default: arithmetic, algebra, geometry, number theory, combinatorics,
    probability and statistics, calculus and analysis, other) becomes a JSON-schema ``enum``, so the
    model can only answer one of them. Writes ``output_key``; drops nothing; failed calls go to the
    rejects.
    """

    output_key = OutputColumn("question_category", "str")

    def __init__(self, categories: list[str] | None = None,
                 prompt_template: str = "reasoning/question_category", system_prompt: str | None = None,
                 max_tokens: int = 32, llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        self.categories = list(categories) if categories is not None else list(DEFAULT_CATEGORIES)
        if not self.categories or len(set(self.categories)) != len(self.categories):
            raise ValueError("categories must be a non-empty list without repeats")
        self.prompt_template = prompt_template
        self.system_prompt = system_prompt
        self.max_tokens = max_tokens
        self.provided_variables = frozenset({"question", "categories"})
        self._setup_template()

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"category": {"type": "string", "enum": self.categories}},
            "required": ["category"],
            "additionalProperties": False,
        }

    def template_values(self, n: int) -> dict[str, list[Any]]:
        return {"categories": [self.categories] * n}

    def columns_from(self, parsed: list[dict[str, Any]], ctx: Any) -> dict[str, list[Any]]:
        return {ctx.cols.output_key: [str(p["category"]) for p in parsed]}
