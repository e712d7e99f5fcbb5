"""Single- and multi-hop question-answer pairs from knowledge chunks, one pair per row."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator, Reject, column_texts
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator

DEFAULT_TEMPLATE = "knowledge/multihop_qa"
HOP_TYPES = ("single_hop", "multi_hop")


def qa_pairs_schema(num_q: int, max_question_chars: int, max_answer_chars: int, max_facts: int) -> dict:
    """``{"qa_pairs": [...]}``: 1..``num_q`` pairs, each with bounded strings and 1..``max_facts`` facts."""
    text = {"type": "string", "minLength": 1}
    pair = {"type": "object",
            "properties": {"question": {**text, "maxLength": max_question_chars},
                           "answer": {**text, "maxLength": max_answer_chars},
                           "supporting_facts": {"type": "array", "minItems": 1, "maxItems": max_facts,
                                                "items": {**text, "maxLength": 600}},
                           "type": {"type": "string", "enum": list(HOP_TYPES)}},
            "required": ["question", "answer", "supporting_facts", "type"], "additionalProperties": False}
    return {"type": "object", "properties": {"qa_pairs": {"type": "array", "minItems": 1, "maxItems": num_q,
                                                          "items": pair}},
            "required": ["qa_pairs"], "additionalProperties": False}


@register_operator
class KBCMultiHopQAGenerator(LLMGenerator):
    """Turns each knowledge chunk in ``input_key`` into up to ``num_q`` question-answer pairs, single-hop
    (one fact answers it) and multi-hop (facts combined), each pair a new row that keeps the chunk's
    columns (so the chunk, its source and pages stay beside the pair for the support check).

    The answer follows a JSON schema (template ``knowledge/multihop_qa``): ``{"qa_pairs": [{question,
    answer, supporting_facts (sentences of the chunk, 1..max_facts), type ("single_hop" | "multi_hop")}]}``
    with 1..``num_q`` pairs and bounded string lengths. Written: ``output_question_key``,
    ``output_answer_key``, ``output_evidence_key`` (a list of sentences) and ``output_type_key``. Pairs
    with a question or answer that is blank, or a question repeated in the same chunk, are left out;
    a chunk without any pair left is dropped (``no QA pair generated``). Chunks shorter than
    ``min_chunk_chars`` are not sent (dropped the same way).
    """

    input_key = InputColumn("cleaned_chunk", "str", nullable=True)
    output_question_key = OutputColumn("question", "str")
    output_answer_key = OutputColumn("answer", "str")
    output_evidence_key = OutputColumn("supporting_facts", "list")
    output_type_key = OutputColumn("qa_type", "str")
    default_template = DEFAULT_TEMPLATE
    prompt_inputs = {"text": "input_key"}
    provided_variables = frozenset({"num_q"})
    new_rows = True
    no_output_reason = "no QA pair generated"

    def __init__(self, num_q: int = 3, max_question_chars: int = 300, max_answer_chars: int = 400,
                 max_facts: int = 3, min_chunk_chars: int = 80, prompt_template: str = DEFAULT_TEMPLATE,
                 system_prompt: str | None = None, temperature: float = 0.0, max_tokens: int = 1024,
                 seed: int | None = 0, llm_serving: Any = None) -> None:
        if num_q < 1 or max_facts < 1:
            raise ValueError("num_q and max_facts must be at least 1")
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.num_q, self.max_facts, self.min_chunk_chars = num_q, max_facts, min_chunk_chars
        self.max_question_chars, self.max_answer_chars = max_question_chars, max_answer_chars

    def schema(self) -> dict:
        return qa_pairs_schema(self.num_q, self.max_question_chars, self.max_answer_chars, self.max_facts)

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"num_q": self.num_q}

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        texts = column_texts(batch, ctx.cols.input_key)
        return [p if len(t.strip()) >= self.min_chunk_chars else None
                for p, t in zip(super().prompts(batch, ctx), texts)]

    def parse(self, answer: LLMResult) -> Any:
        rows, seen = [], set()
        for pair in answer.parsed["qa_pairs"]:
            question, reply = pair["question"].strip(), pair["answer"].strip()
            if not question or not reply or question.lower() in seen:
                continue
            seen.add(question.lower())
            facts = [f.strip() for f in pair["supporting_facts"] if f.strip()]
            rows.append({"output_question_key": question, "output_answer_key": reply,
                         "output_evidence_key": facts, "output_type_key": pair["type"]})
        return rows or Reject("invalid answer: no usable QA pair")
