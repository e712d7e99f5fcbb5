"""Keeps only the question-answer pairs their chunk supports: a word-overlap check, then optionally an LLM."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import LLMFilter, column_texts
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.content_terms import content_terms, coverage

DEFAULT_TEMPLATE = "knowledge/qa_support"


@register_operator
class KBCQASupportFilter(LLMFilter):
    """Keeps a question-answer pair only when its chunk (``input_key``) supports the answer.

    The deterministic check comes first, on content words (stop words left out, words compared by their
    first 5 characters, a plural ``s`` dropped, numbers whole): at least ``min_answer_overlap`` of the answer's content words must
    occur in the chunk (an answer with none, "Yes", passes this part), and each supporting sentence in
    ``input_evidence_key`` (when bound) at least ``min_evidence_overlap`` of its own; ``require_evidence``
    drops pairs that give no sentence; and at least ``min_question_overlap`` of the question's content
    words must occur in the chunk too (a question about something the chunk never names is not about the
    chunk, whatever its answer). The answer's coverage is written to ``output_key``. Drop reasons
    say which part failed, e.g. ``answer not in chunk: 0.40 of its content words < 0.6`` or
    ``evidence not in chunk: "..." (0.50 < 0.8)``.

    With ``llm_judge`` the pairs that pass are then judged by the LLM (template ``knowledge/qa_support``,
    schema ``{supported, reason}``); an unsupported verdict drops the pair with ``llm judge: <reason>``, a
    failed call rejects it. Without it the operator needs no LLM.
    """

    input_key = InputColumn("cleaned_chunk", "str", nullable=True)
    input_question_key = InputColumn("question", "str")
    input_answer_key = InputColumn("answer", "str", nullable=True)
    input_evidence_key = InputColumn("supporting_facts", "list", nullable=True)
    output_key = OutputColumn("support_score", "float")
    default_template = DEFAULT_TEMPLATE
    prompt_inputs = {"text": "input_key", "question": "input_question_key", "answer": "input_answer_key"}

    def __init__(self, min_answer_overlap: float = 0.6, min_evidence_overlap: float = 0.8,
                 min_question_overlap: float = 0.4, require_evidence: bool = True, llm_judge: bool = False,
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 128, seed: int | None = 0,
                 llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.min_answer_overlap, self.min_evidence_overlap = min_answer_overlap, min_evidence_overlap
        self.min_question_overlap = min_question_overlap
        self.require_evidence, self.llm_judge = require_evidence, llm_judge
        self.resources = ("llm",) if llm_judge else ()

    def schema(self) -> dict:
        return {"type": "object", "properties": {"supported": {"type": "boolean"},
                                                 "reason": {"type": "string", "maxLength": 200}},
                "required": ["supported", "reason"], "additionalProperties": False}

    def parse(self, answer: LLMResult) -> Any:
        return {"supported": bool(answer.parsed["supported"]), "reason": answer.parsed["reason"].strip()}

    def check(self, chunk: str, answer: str, evidence: Any, question: str = "") -> tuple[float | None, str | None]:
        """(the answer's coverage, why the chunk does not support the pair or None)."""
        terms = set(content_terms(chunk))
        share = coverage(answer, terms)
        if not answer.strip():
            return share, "empty answer"
        if share is not None and share < self.min_answer_overlap:
            return share, f"answer not in chunk: {share:.2f} of its content words < {self.min_answer_overlap}"
        facts = [f for f in (evidence if isinstance(evidence, (list, tuple, np.ndarray)) else []) if str(f).strip()]
        if self.require_evidence and evidence is not None and not facts:
            return share, "no supporting sentence"
        for fact in facts:
            fact_share = coverage(str(fact), terms)
            if fact_share is not None and fact_share < self.min_evidence_overlap:
                quoted = str(fact) if len(str(fact)) <= 80 else str(fact)[:77] + "..."
                return share, f'evidence not in chunk: "{quoted}" ({fact_share:.2f} < {self.min_evidence_overlap})'
        asked = coverage(question, terms)
        if asked is not None and asked < self.min_question_overlap:
            return share, f"question not about chunk: {asked:.2f} of its content words < {self.min_question_overlap}"
        return share, None

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, list[Any]]:
        cols = ctx.cols
        evidence = batch[cols.input_evidence_key].tolist() if cols.get("input_evidence_key") else [None] * len(batch)
        checks = [self.check(c, a, e, q) for c, a, e, q in
                  zip(column_texts(batch, cols.input_key), column_texts(batch, cols.input_answer_key), evidence,
                      column_texts(batch, cols.input_question_key))]
        scores = {"output_key": [s if s is not None else 1.0 for s, _ in checks], "why": [w for _, w in checks]}
        if self.llm_judge:
            prompts = [p if why is None else None for p, (_, why) in zip(self.prompts(batch, ctx), checks)]
            scores["verdict"] = self.ask(batch, ctx, prompts)
        return scores

    def keep(self, batch: pd.DataFrame, scores: dict[str, list[Any]], ctx: Any) -> Any:
        reasons = list(scores["why"])
        for i, verdict in enumerate(scores.get("verdict", [])):
            if reasons[i] is None and isinstance(verdict, dict) and not verdict["supported"]:
                reasons[i] = f"llm judge: {verdict['reason'] or 'not supported'}"
        return [r is None for r in reasons], [r or "" for r in reasons]
