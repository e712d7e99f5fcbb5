"""An LLM judge of whether a predicted answer means the same as the reference answer."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMEvaluator, column_texts
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.qa_metrics import exact_match
from dataflow.operators.agentic_rag.answer_scores import references

DEFAULT_TEMPLATE = "agentic_rag/judge"


@register_operator
class AgenticRAGJudgeEvaluator(LLMEvaluator):
    """Asks the LLM whether the predicted answer (``input_prediction_key``) to the question
    (``input_question_key``) means the same as the reference answer(s) (``input_ground_truth_key``: a
    string or a list), for answers that token F1 cannot score (paraphrases, other units, free text).
    Writes the verdict to ``output_key`` (a bool) and its reason to ``output_reason_key``.

    The answer follows the schema ``{correct: bool, reason: str}`` (template ``agentic_rag/judge``).
    Rows are decided without a call when the prediction equals a reference after normalisation (correct:
    ``exact match``), or when there is no prediction or no reference (incorrect: ``no prediction`` /
    ``no reference``). A failed call rejects the row.
    """

    input_question_key = InputColumn("question", "str", nullable=True)
    input_prediction_key = InputColumn("refined_answer", "str", nullable=True)
    input_ground_truth_key = InputColumn("golden_doc_answer", "any", nullable=True,
                                         description="a reference answer or a list of them")
    output_key = OutputColumn("judge_correct", "bool")
    output_reason_key = OutputColumn("judge_reason", "str")
    default_template = DEFAULT_TEMPLATE
    prompt_inputs = {"question": "input_question_key", "prediction": "input_prediction_key"}
    provided_variables = frozenset({"references"})

    def __init__(self, prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 160, seed: int | None = 0,
                 llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)

    def schema(self) -> dict:
        return {"type": "object", "properties": {"correct": {"type": "boolean"},
                                                 "reason": {"type": "string", "maxLength": 200}},
                "required": ["correct", "reason"], "additionalProperties": False}

    def parse(self, answer: LLMResult) -> Any:
        return {"output_key": bool(answer.parsed["correct"]), "output_reason_key": answer.parsed["reason"].strip()}

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"references": [references(v) for v in batch[ctx.cols.input_ground_truth_key].tolist()]}

    def verdict_without_call(self, prediction: str, refs: list[str]) -> dict[str, Any] | None:
        """The verdict when no judge is needed, else None."""
        if not prediction.strip():
            return {"output_key": False, "output_reason_key": "no prediction"}
        if not refs:
            return {"output_key": False, "output_reason_key": "no reference"}
        if exact_match(prediction, refs):
            return {"output_key": True, "output_reason_key": "exact match"}
        return None

    def evaluate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        refs = self.prompt_values(batch, ctx)["references"]
        decided = [self.verdict_without_call(p, r)
                   for p, r in zip(column_texts(batch, ctx.cols.input_prediction_key), refs)]
        if any(d is None for d in decided):
            prompts = [None if d is not None else p for d, p in zip(decided, self.prompts(batch, ctx))]
            decided = [d if d is not None else a for d, a in zip(decided, self.ask(batch, ctx, prompts))]
        return self.answer_columns(decided, ctx.cols)
