"""Atomic question-answer tasks from passages: facts, a question per fact, a short answer and its variants."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator, Reject, column_texts
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.prompts import resolve_template
from dataflow.core.registry import register_operator
from dataflow.lib.content_terms import content_terms, coverage
from dataflow.lib.qa_metrics import normalize_answer

FACTS_TEMPLATE = "agentic_rag/atomic_facts"
REFINE_TEMPLATE = "agentic_rag/atomic_refine"


def answer_variants(*answers: Any) -> list[str]:
    """The non-empty answers in order, without repeats (compared normalised)."""
    seen: set[str] = set()
    out = []
    for answer in answers:
        text = str(answer or "").strip()
        key = normalize_answer(text)
        if key and key not in seen:
            seen.add(key)
            out.append(text)
    return out


@register_operator
class AgenticRAGAtomicTaskGenerator(LLMGenerator):
    """Writes up to ``num_q`` atomic question-answer tasks per passage in ``input_key``, each a new row that
    keeps the passage's columns (its id too).

    Two requests: one per passage (template ``agentic_rag/atomic_facts``, schema ``{identifier, tasks:
    [{fact, question, answer}]}`` with at most ``num_q`` tasks) finds facts and asks one question per
    fact; one per task (``agentic_rag/atomic_refine``, schema ``{refined_answer, alternatives}``) gives
    the shortest answer and up to ``max_alternatives`` other ways to write it. A task is kept only when
    its answer is not empty, is not given in the question (nor more than half of its content words),
    and at least ``min_answer_support`` of its content words occur in the passage; a refined answer
    that fails these checks is replaced by the answer. Repeated questions (normalised) are kept once.

    Written: ``output_question_key``, ``output_answer_key``, ``output_refined_answer_key``,
    ``output_optional_answer_key`` (the refined answer, the answer and the alternatives, without
    repeats: every answer the checks accept), ``output_fact_key``, ``output_identifier_key`` (what the
    passage is about) and ``output_type_key`` (``atomic``). Whether a question really needs its passage
    is checked afterwards by :class:`AgenticRAGDocumentDependenceFilter`. A passage without a usable
    task is dropped (``no question from the passage``); one whose calls all failed is rejected.
    """

    input_key = InputColumn("contents", "str", nullable=True)
    output_question_key = OutputColumn("question", "str")
    output_answer_key = OutputColumn("answer", "str")
    output_refined_answer_key = OutputColumn("refined_answer", "str")
    output_optional_answer_key = OutputColumn("optional_answer", "list")
    output_fact_key = OutputColumn("fact", "str")
    output_identifier_key = OutputColumn("identifier", "str")
    output_type_key = OutputColumn("qa_type", "str")
    default_template = FACTS_TEMPLATE
    prompt_inputs = {"passage": "input_key"}
    provided_variables = frozenset({"num_q", "fact", "question", "answer", "max_alternatives"})
    no_output_reason = "no question from the passage"

    def __init__(self, num_q: int = 2, max_alternatives: int = 3, min_answer_support: float = 0.5,
                 max_answer_chars: int = 100, prompt_template: str = FACTS_TEMPLATE,
                 refine_template: str = REFINE_TEMPLATE, system_prompt: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 384, seed: int | None = 0,
                 llm_serving: Any = None) -> None:
        if num_q < 1:
            raise ValueError("num_q must be at least 1")
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.num_q, self.max_alternatives = num_q, max_alternatives
        self.min_answer_support, self.max_answer_chars = min_answer_support, max_answer_chars
        self.refine_template = refine_template
        self.refiner = resolve_template(refine_template)

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"num_q": self.num_q}

    def schema(self) -> dict:
        text = {"type": "string", "minLength": 1}
        task = {"type": "object", "properties": {"fact": {**text, "maxLength": 400}, "question": {**text, "maxLength": 300},
                                                 "answer": {**text, "maxLength": self.max_answer_chars}},
                "required": ["fact", "question", "answer"], "additionalProperties": False}
        return {"type": "object", "properties": {"identifier": {**text, "maxLength": 120},
                                                 "tasks": {"type": "array", "items": task, "minItems": 1,
                                                           "maxItems": self.num_q}},
                "required": ["identifier", "tasks"], "additionalProperties": False}

    def refine_schema(self) -> dict:
        text = {"type": "string", "maxLength": self.max_answer_chars}
        return {"type": "object", "properties": {"refined_answer": text, "alternatives": {
            "type": "array", "items": text, "maxItems": self.max_alternatives}},
                "required": ["refined_answer", "alternatives"], "additionalProperties": False}

    def parse(self, answer: LLMResult) -> Any:
        tasks = [{k: str(t[k]).strip() for k in ("fact", "question", "answer")} for t in answer.parsed["tasks"]]
        return {"identifier": answer.parsed["identifier"].strip(), "tasks": tasks[:self.num_q]}

    def parse_refined(self, answer: LLMResult) -> Any:
        return {"refined": answer.parsed["refined_answer"].strip(),
                "alternatives": [str(a).strip() for a in answer.parsed["alternatives"]][:self.max_alternatives]}

    def usable(self, task: dict[str, str], passage_terms: set[str]) -> bool:
        """Whether a task's answer is given, not in its question, and supported by the passage."""
        answer, question = normalize_answer(task["answer"]), normalize_answer(task["question"])
        if not answer or not question or f" {answer} " in f" {question} ":
            return False
        # "Who was Howard Smit?" -> "Howard J. Smit": an answer made mostly of the question's words asks nothing.
        asked = coverage(task["answer"], set(content_terms(task["question"])))
        if asked is not None and asked > 0.5:
            return False
        share = coverage(task["answer"], passage_terms)
        return share is None or share >= self.min_answer_support

    def generate(self, batch: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        passages = column_texts(batch, ctx.cols.input_key)
        found = self.ask(batch, ctx, [p if text.strip() else None
                                      for p, text in zip(self.prompts(batch, ctx), passages)])
        jobs = []  # (row, identifier, task) for every usable task, repeated questions once
        for row, (passage, answer) in enumerate(zip(passages, found)):
            if not isinstance(answer, dict):
                continue
            terms, seen = set(content_terms(passage)), set()
            for task in answer["tasks"]:
                key = normalize_answer(task["question"])
                if key not in seen and self.usable(task, terms):
                    seen.add(key)
                    jobs.append((row, answer["identifier"], task))
        prompts = [self.sampling.request(p, self.refine_schema()) for p in self.render_prompts(
            batch.iloc[[j[0] for j in jobs]], self.refiner, fact=[j[2]["fact"] for j in jobs],
            question=[j[2]["question"] for j in jobs], answer=[j[2]["answer"] for j in jobs],
            max_alternatives=self.max_alternatives)]
        refined = self.ask(batch, ctx, prompts, parse=self.parse_refined)
        per_row: list[list[Any]] = [[] for _ in passages]
        failures = {i: a for i, a in enumerate(found) if isinstance(a, Reject)}
        for (row, identifier, task), better in zip(jobs, refined):
            if isinstance(better, Reject):
                failures.setdefault(row, better)
                continue
            short = better["refined"]
            if not short or not self.usable({**task, "answer": short}, set(content_terms(passages[row]))):
                short = task["answer"]
            per_row[row].append({
                "output_question_key": task["question"], "output_answer_key": task["answer"],
                "output_refined_answer_key": short,
                "output_optional_answer_key": answer_variants(short, task["answer"], *better["alternatives"]),
                "output_fact_key": task["fact"], "output_identifier_key": identifier, "output_type_key": "atomic"})
        return self.answer_rows([rows or failures.get(i, []) for i, rows in enumerate(per_row)], ctx.cols)
