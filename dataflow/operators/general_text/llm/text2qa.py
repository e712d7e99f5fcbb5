"""Question-answer pairs from passages."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import BatchResult, Generator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.core_text._llm import ask
from dataflow.operators.general_text.llm._shared import (
    TemplatedLLM,
    bounded_string,
    column_texts,
    expand_children,
    llm_failures,
    token_budget,
)


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
class Text2QAGenerator(TemplatedLLM, Generator):
    """Writes up to ``num_qa`` question-answer pairs about each passage; every pair becomes a new row.

    The answer is constrained to ``{"qa_pairs": [{"question", "answer"}, ...]}`` with at most ``num_qa``
    items and bounded strings; ``max_tokens`` defaults to a budget that such an answer fits. New rows
    copy the passage row (so the passage stays beside its questions) and get ``output_question_key`` and
    ``output_answer_key``; row ids are ``<passage id>.<k>``. Repeated questions are skipped; passages
    whose answer stays invalid go to the rejects with the reason.
    """

    resources = ("llm",)
    no_output_reason = "no QA pairs generated"
    provided_variables = frozenset({"text", "num_qa", "max_answer_words"})
    input_key = InputColumn("text", "str")
    output_question_key = OutputColumn("question", "str")
    output_answer_key = OutputColumn("answer", "str")

    def __init__(self, num_qa: int = 3, max_question_chars: int = 300, max_answer_chars: int = 400,
                 prompt_template: str = "general_text/text2qa", system_prompt: str | None = None,
                 temperature: float = 0.0, max_tokens: int | None = None, seed: int | None = 0,
                 llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        if not 1 <= num_qa <= 50:
            raise ValueError("num_qa must be between 1 and 50")
        self.num_qa, self.max_question_chars, self.max_answer_chars = num_qa, max_question_chars, max_answer_chars
        self.prompt_template, self.system_prompt = prompt_template, system_prompt
        self.temperature, self.seed = temperature, seed
        self.max_tokens = max_tokens or token_budget(num_qa * (max_question_chars + max_answer_chars + 40))
        self._setup_template()

    def schema(self) -> dict[str, Any]:
        return qa_schema(self.num_qa, self.max_question_chars, self.max_answer_chars)

    def rows_from_answer(self, parsed: dict[str, Any], cols: Any) -> list[dict[str, Any]]:
        rows, seen = [], set()
        for pair in parsed.get("qa_pairs", []):
            question, answer = pair["question"].strip(), pair["answer"].strip()
            key = " ".join(question.lower().split())
            if question and answer and key not in seen:
                seen.add(key)
                rows.append({cols.output_question_key: question, cols.output_answer_key: answer})
        return rows

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        cols = ctx.cols
        prompts = self.render_prompts(batch, text=column_texts(batch, cols.input_key), num_qa=self.num_qa,
                                      max_answer_words=self.max_answer_chars // 7)
        results = ask(ctx, prompts, system=self.system_prompt, json_schema=self.schema(),
                      temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed)
        failures = llm_failures(results)
        children = {i: self.rows_from_answer(r.parsed, cols) for i, r in enumerate(results) if i not in failures}
        return expand_children(batch, children, self.output_columns(cols), failures, self.no_output_reason)
