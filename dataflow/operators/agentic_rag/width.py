"""Wider questions: two questions whose passages are related by retrieval, combined into one that asks both."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator, Reject, column_texts
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.prompts import resolve_template
from dataflow.core.registry import register_operator
from dataflow.lib.qa_metrics import normalize_answer, token_f1
from dataflow.operators.agentic_rag.atomic import answer_variants
from dataflow.operators.agentic_rag.qa_rows import kept_copy, source_rows

COMBINE_TEMPLATE = "agentic_rag/width_combine"
SPLIT_TEMPLATE = "agentic_rag/width_split"


def token_recall(text: str, part: str) -> float:
    """The share of ``part``'s normalised tokens found in ``text`` (as a multiset); 1 for an empty part."""
    want = Counter(normalize_answer(part).split())
    if not want:
        return 1.0
    return sum((want & Counter(normalize_answer(text).split())).values()) / sum(want.values())


def pair_by_retrieval(ids: list[str], rankings: list[list[str]]) -> list[tuple[int, int]]:
    """Pairs of rows (each row at most once) whose passages retrieve each other: row ``i``'s passage
    ``ids[i]`` ranks the passages ``rankings[i]`` (best first, its own left out). A pair scores the
    reciprocal ranks of each passage in the other's list, summed; the best pairs are taken first (ties:
    by row position). Rows of the same passage are never paired."""
    rank = [{pid: r for r, pid in enumerate(ranked)} for ranked in rankings]
    scored = []
    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            if ids[i] == ids[j]:
                continue
            score = sum(1 / (1 + ranks[other]) for ranks, other in ((rank[i], ids[j]), (rank[j], ids[i]))
                        if other in ranks)
            if score:
                scored.append((-score, i, j))
    pairs, used = [], set()
    for _, i, j in sorted(scored):
        if i not in used and j not in used:
            pairs.append((i, j))
            used.update((i, j))
    return pairs


@register_operator
class AgenticRAGWidthQAGenerator(LLMGenerator):
    """Combines pairs of questions whose passages are related by retrieval into one wider question.

    Pairing, within one chunk (a Generator sees one chunk at a time; give the pipeline a ``chunk_size``
    that holds the rows to pair, the whole dataset for small ones): every source row (a question;
    when ``input_type_key`` is bound, a type in ``from_types``) searches its passage (``input_key``) in
    the corpus of the ``retriever`` resource, its own passage (``input_id_key``) left out, top ``top_k``;
    two rows of different passages are paired when either passage is among the other's hits, best
    reciprocal ranks first, each row once (:func:`pair_by_retrieval`). Never by row order.

    For each pair the model writes one question asking both and its answer (template
    ``agentic_rag/width_combine``, schema ``{question, answer}``), then splits the combined question
    back (``agentic_rag/width_split``, schema ``{questions: [2]}``). The combined question is kept when
    each part matches one original question with token F1 >= ``min_split_f1`` (in either order) and the
    combined answer holds at least ``min_answer_recall`` of each original answer's tokens.

    A kept pair is a new row after its first row: ``output_question_key`` the combined question, the
    answer columns (``output_answer_key``, ``output_refined_answer_key``: the combined answer;
    ``output_optional_answer_key``: it and "<answer 1> and <answer 2>"), ``output_documents_key`` both
    passages, ``output_source_ids_key`` both passage ids, ``output_source_questions_key`` both questions
    and ``output_type_key`` ``wider``; its other columns are the first row's. With ``keep_source`` the
    source rows go on unchanged; without, unpaired ones are dropped (``no wider question``). Rows that
    are not sources pass through. A failed call rejects the pair's first row.
    """

    input_question_key = InputColumn("question", "str", nullable=True)
    input_answer_key = InputColumn("refined_answer", "str", nullable=True)
    input_key = InputColumn("contents", "str", nullable=True)
    input_id_key = InputColumn("id", "any", nullable=True)
    input_type_key = InputColumn(None, "str", nullable=True)
    output_question_key = OutputColumn("question", "str")
    output_answer_key = OutputColumn("answer", "str")
    output_refined_answer_key = OutputColumn("refined_answer", "str")
    output_optional_answer_key = OutputColumn("optional_answer", "list")
    output_documents_key = OutputColumn("documents", "list")
    output_source_ids_key = OutputColumn("source_ids", "list")
    output_source_questions_key = OutputColumn("source_questions", "list")
    output_type_key = OutputColumn("qa_type", "str")
    resources = ("llm", "retriever")
    default_template = COMBINE_TEMPLATE
    provided_variables = frozenset({"question", "question_1", "answer_1", "question_2", "answer_2"})
    no_output_reason = "no wider question"

    def __init__(self, top_k: int = 10, keep_source: bool = True, from_types: tuple[str, ...] | None = ("atomic",),
                 min_split_f1: float = 0.6, min_answer_recall: float = 0.8,
                 prompt_template: str = COMBINE_TEMPLATE, split_template: str = SPLIT_TEMPLATE,
                 system_prompt: str | None = None, temperature: float = 0.0, max_tokens: int = 200,
                 seed: int | None = 0, llm_serving: Any = None, retriever: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.retriever = retriever
        self.top_k, self.keep_source = top_k, keep_source
        self.from_types = list(from_types) if from_types is not None else None
        self.min_split_f1, self.min_answer_recall = min_split_f1, min_answer_recall
        self.split_template = split_template
        self.splitter = resolve_template(split_template)

    def schema(self) -> dict:
        text = {"type": "string", "minLength": 1, "maxLength": 400}
        return {"type": "object", "properties": {"question": text, "answer": {**text, "maxLength": 200}},
                "required": ["question", "answer"], "additionalProperties": False}

    def split_schema(self) -> dict:
        return {"type": "object", "properties": {"questions": {
            "type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 300}, "minItems": 2,
            "maxItems": 2}}, "required": ["questions"], "additionalProperties": False}

    def parse(self, answer: LLMResult) -> Any:
        return {"question": answer.parsed["question"].strip(), "answer": answer.parsed["answer"].strip()}

    def parse_split(self, answer: LLMResult) -> Any:
        return [str(q).strip() for q in answer.parsed["questions"]]

    def split_matches(self, parts: list[str], one: str, two: str) -> bool:
        """Whether the two parts are the two questions, in either order."""
        return max(min(token_f1(a, one), token_f1(b, two)) for a, b in (parts, parts[::-1])) >= self.min_split_f1

    def generate(self, batch: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        cols = ctx.cols
        questions, answers = column_texts(batch, cols.input_question_key), column_texts(batch, cols.input_answer_key)
        passages, ids = column_texts(batch, cols.input_key), column_texts(batch, cols.get("input_id_key"))
        sources = [i for i, s in enumerate(source_rows(batch, cols, self.from_types)) if s]
        hits = ctx.resource("retriever").search([passages[i] for i in sources], self.top_k,
                                                exclude=[[ids[i]] for i in sources]) if len(sources) > 1 else []
        pairs = [(sources[a], sources[b]) for a, b in
                 pair_by_retrieval([ids[i] for i in sources], [[h.id for h in found] for found in hits])]
        combine = self.render_prompts(batch.iloc[[i for i, _ in pairs]], question_1=[questions[i] for i, _ in pairs],
                                      answer_1=[answers[i] for i, _ in pairs], question_2=[questions[j] for _, j in pairs],
                                      answer_2=[answers[j] for _, j in pairs])
        combined = self.ask(batch, ctx, combine)
        holds = [k for k, (c, (i, j)) in enumerate(zip(combined, pairs)) if isinstance(c, dict) and all(
            token_recall(c["answer"], a) >= self.min_answer_recall for a in (answers[i], answers[j]))]
        split = self.ask(batch, ctx, [self.sampling.request(p, self.split_schema()) for p in self.render_prompts(
            batch.iloc[[pairs[k][0] for k in holds]], self.splitter, question=[combined[k]["question"] for k in holds])],
            parse=self.parse_split)
        wider: dict[int, Any] = {pairs[k][0]: combined[k] for k, c in enumerate(combined) if isinstance(c, Reject)}
        for k, parts in zip(holds, split):
            (i, j), made = pairs[k], combined[k]
            if isinstance(parts, Reject):
                wider[i] = parts
            elif self.split_matches(parts, questions[i], questions[j]):
                wider[i] = {"output_question_key": made["question"], "output_answer_key": made["answer"],
                            "output_refined_answer_key": made["answer"],
                            "output_optional_answer_key": answer_variants(made["answer"], f"{answers[i]} and {answers[j]}"),
                            "output_documents_key": [passages[i], passages[j]], "output_source_ids_key": [ids[i], ids[j]],
                            "output_source_questions_key": [questions[i], questions[j]], "output_type_key": "wider"}
        names, is_source = self.output_bindings(cols), set(sources)
        defaults = {"output_question_key": questions.__getitem__, "output_refined_answer_key": answers.__getitem__,
                    "output_documents_key": lambda i: [passages[i]], "output_source_ids_key": lambda i: [ids[i]],
                    "output_source_questions_key": lambda i: [questions[i]], "output_type_key": lambda i: "atomic"}
        children: list[Any] = []
        for i in range(len(batch)):
            if isinstance(wider.get(i), Reject):
                children.append(wider[i])
                continue
            copy = [kept_copy(batch, cols, names, i, defaults)] if self.keep_source or i not in is_source else []
            children.append(copy + ([wider[i]] if i in wider else []))
        return self.answer_rows(children, cols)
