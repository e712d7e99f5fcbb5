"""Keeps the questions that need their documents: answered with them, not answered without them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import LLMFilter, column_texts, text_of
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.prompts import resolve_template
from dataflow.core.registry import register_operator
from dataflow.lib.qa_metrics import token_f1

WITH_DOCUMENTS_TEMPLATE = "agentic_rag/answer_with_documents"
CLOSED_BOOK_TEMPLATE = "agentic_rag/answer_closed_book"


def as_texts(value: Any) -> list[str]:
    """A cell holding one text or a list of texts as a list of non-empty texts."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [text_of(v) for v in value if text_of(v).strip()]
    text = text_of(value)
    return [text] if text.strip() else []


def gold_answers(answer: Any, alternatives: Any) -> list[str]:
    """The reference answers of a row: its answer, then its alternatives."""
    return as_texts(answer) + as_texts(alternatives)


def quoted(text: str | None, limit: int = 80) -> str:
    text = " ".join(str(text or "").split())
    return f'"{text if len(text) <= limit else text[:limit - 3] + "..."}"'


@register_operator
class AgenticRAGDocumentDependenceFilter(LLMFilter):
    """Keeps a question only when the model answers it correctly with its documents and not without them.

    The check every generated question passes. The model answers the question in ``input_question_key``
    (a) from its own knowledge (template ``agentic_rag/answer_closed_book``) and, only when that answer
    is wrong, (b) from the documents in ``input_documents_key`` (one text or a list of texts, each cut
    to ``max_document_chars``; template ``agentic_rag/answer_with_documents``); both answers follow the
    schema ``{answer}``. An answer is correct when its token F1 (SQuAD/HotpotQA normalisation and
    yes/no rule, :mod:`dataflow.lib.qa_metrics`) against the row's answer (``input_answer_key``) or any
    of its alternatives (``input_alternatives_key``, a list) reaches ``min_f1``.

    Drop reasons say which check failed and what the model answered: ``answerable without the
    documents: "..."`` or ``not answered with the documents: "..."`` (``no question`` for an empty
    one). Written, on kept and dropped rows: the closed-book answer and its F1
    (``output_closed_answer_key``, ``output_closed_f1_key``) and the answer with the documents and its
    F1 (``output_doc_answer_key``, ``output_doc_f1_key``; null when the closed-book answer was already
    right, since then the question is dropped whatever the documents give). A failed call rejects the
    row.
    """

    input_question_key = InputColumn("question", "str", nullable=True)
    input_documents_key = InputColumn("contents", "any", nullable=True)
    input_answer_key = InputColumn("refined_answer", "str", nullable=True)
    input_alternatives_key = InputColumn("optional_answer", "list", nullable=True)
    output_closed_answer_key = OutputColumn("llm_answer", "str")
    output_closed_f1_key = OutputColumn("llm_answer_f1", "float")
    output_doc_answer_key = OutputColumn("golden_doc_answer", "str")
    output_doc_f1_key = OutputColumn("golden_doc_f1", "float")
    default_template = WITH_DOCUMENTS_TEMPLATE
    prompt_inputs = {"question": "input_question_key"}
    provided_variables = frozenset({"documents"})

    def __init__(self, min_f1: float = 0.6, max_document_chars: int = 2000,
                 prompt_template: str = WITH_DOCUMENTS_TEMPLATE, closed_book_template: str = CLOSED_BOOK_TEMPLATE,
                 system_prompt: str | None = None, temperature: float = 0.0, max_tokens: int = 48,
                 seed: int | None = 0, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.min_f1, self.max_document_chars = min_f1, max_document_chars
        self.closed_book_template = closed_book_template
        self.closed_book = resolve_template(closed_book_template)

    def schema(self) -> dict:
        return {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 200}},
                "required": ["answer"], "additionalProperties": False}

    def parse(self, answer: LLMResult) -> Any:
        return answer.parsed["answer"].strip()

    def documents_text(self, value: Any) -> str:
        docs = [d[:self.max_document_chars] for d in as_texts(value)]
        return "\n\n".join(f"Document {i}:\n{d}" for i, d in enumerate(docs, 1))

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, list[Any]]:
        cols = ctx.cols
        questions = column_texts(batch, cols.input_question_key)
        alternatives = batch[cols.input_alternatives_key].tolist() if cols.get("input_alternatives_key") \
            else [None] * len(batch)
        golds = [gold_answers(a, alt) for a, alt in zip(batch[cols.input_answer_key].tolist(), alternatives)]
        asked = [q.strip() != "" for q in questions]
        closed_prompts = self.render_prompts(batch, self.closed_book, question=questions)
        closed = self.ask(batch, ctx, [p if ok else None for p, ok in zip(closed_prompts, asked)])
        closed_f1 = [token_f1(a, g) if isinstance(a, str) else None for a, g in zip(closed, golds)]
        # Only a question the model cannot answer alone is worth asking with the documents.
        open_book = [ok and f is not None and f < self.min_f1 for ok, f in zip(asked, closed_f1)]
        doc_prompts = self.render_prompts(batch, question=questions, documents=[
            self.documents_text(v) for v in batch[cols.input_documents_key].tolist()])
        with_docs = self.ask(batch, ctx, [p if go else None for p, go in zip(doc_prompts, open_book)])
        doc_f1 = [token_f1(a, g) if isinstance(a, str) else None for a, g in zip(with_docs, golds)]
        return {"output_closed_answer_key": closed, "output_closed_f1_key": closed_f1,
                "output_doc_answer_key": with_docs, "output_doc_f1_key": doc_f1, "asked": asked}

    def keep(self, batch: pd.DataFrame, scores: dict[str, list[Any]], ctx: Any) -> Any:
        reasons = []
        for asked, closed, closed_f1, doc, doc_f1 in zip(
                scores["asked"], scores["output_closed_answer_key"], scores["output_closed_f1_key"],
                scores["output_doc_answer_key"], scores["output_doc_f1_key"]):
            if not asked:
                reasons.append("no question")
            elif closed_f1 >= self.min_f1:
                reasons.append(f"answerable without the documents: {quoted(closed)}")
            elif doc_f1 is None or doc_f1 < self.min_f1:
                reasons.append(f"not answered with the documents: {quoted(doc)}")
            else:
                reasons.append("")
        return [not r for r in reasons], reasons
