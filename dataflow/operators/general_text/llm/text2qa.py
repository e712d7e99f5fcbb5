"""Question-answer pairs from passages."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.general_text.llm._shared import bounded_string, distinct_pairs, pairs_budget


def qa_schema(num_qa: int, max_question_chars: int = 300, max_answer_chars: int = 400) -> dict[str, Any]:
    """``{"qa_pairs": [{"question": str, "answer": str}, ...]}``: 1 to ``num_qa`` items, strings bounded."""
    pair = {
        "type": "object",
        "properties": {"question": bounded_string(max_question_chars, min_chars=5),
                       "answer": bounded_string(max_answer_chars)},
        "required": ["question", "answer"],
        "additionalProperties": False,
    }
    return {"type": "object",
            "properties": {"qa_pairs": {"type": "array", "minItems": 1, "maxItems": num_qa, "items": pair}},
            "required": ["qa_pairs"], "additionalProperties": False}


@register_operator
class Text2QAGenerator(LLMGenerator):
    """Writes up to ``num_qa`` question-answer pairs about each passage; every pair becomes a new row.

    The answer is constrained to ``{"qa_pairs": [{"question", "answer"}, ...]}`` with at most ``num_qa``
    items and bounded strings; ``max_tokens`` defaults to a budget that such an answer fits. New rows
    copy the passage row (so the passage stays beside its questions) and get ``output_question_key`` and
    ``output_answer_key``; row ids are ``<passage id>.<k>``. Repeated questions are skipped; passages
    whose answer stays invalid go to the rejects with the reason.
    """

    new_rows = True
    no_output_reason = "no QA pairs generated"
    prompt_inputs = {"text": "input_key"}
    provided_variables = frozenset({"num_qa", "max_answer_words"})
    input_key = InputColumn("text", "str")
    output_question_key = OutputColumn("question", "str")
    output_answer_key = OutputColumn("answer", "str")

    def __init__(self, num_qa: int = 3, max_question_chars: int = 300, max_answer_chars: int = 400,
                 prompt_template: str = "general_text/text2qa", system_prompt: str | None = None,
                 temperature: float = 0.0, max_tokens: int | None = None, seed: int | None = 0,
                 llm_serving: Any = None) -> None:
        budget = pairs_budget(num_qa, "num_qa", max_question_chars, max_answer_chars, max_tokens)
        super().__init__(prompt_template, system_prompt, temperature, budget, seed, llm_serving)
        self.num_qa, self.max_question_chars, self.max_answer_chars = num_qa, max_question_chars, max_answer_chars

    def schema(self) -> dict[str, Any]:
        return qa_schema(self.num_qa, self.max_question_chars, self.max_answer_chars)

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"num_qa": self.num_qa, "max_answer_words": self.max_answer_chars // 7}

    def parse(self, answer: Any) -> list[dict[str, Any]]:
        return [{"output_question_key": question, "output_answer_key": text}
                for question, text in distinct_pairs(answer.parsed.get("qa_pairs", []), "question", "answer")]
