"""Deeper questions: one more hop through a bridging passage found by retrieval in the corpus."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator, Reject, column_texts
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.prompts import resolve_template
from dataflow.core.registry import register_operator
from dataflow.lib.content_terms import content_terms, coverage
from dataflow.lib.qa_metrics import normalize_answer
from dataflow.operators.agentic_rag.qa_rows import kept_copy, source_rows

ENTITY_TEMPLATE = "agentic_rag/depth_entity"
REWRITE_TEMPLATE = "agentic_rag/depth_rewrite"


def mentions(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words, both normalised."""
    phrase = normalize_answer(phrase)
    return bool(phrase) and f" {phrase} " in f" {normalize_answer(text)} "


_NAME_SPAN = re.compile(r"[A-Z0-9][\w'’.&-]*(?:\s+(?:of\s+|the\s+|de\s+|von\s+)*[A-Z0-9][\w'’.&-]*)*")
_QUESTION_WORDS = frozenset("what who whom whose when where which why how is are was were do does did in on".split())


def name_candidates(question: str, answer: str) -> list[str]:
    """Names written in the question (runs of capitalised words, "Otto Robert Frisch", "U.S. Bank
    Tower"), longest first, leaving out the question word that opens it, spans of fewer than 3 letters
    (abbreviations like "EP" are rarely what a passage is about), and any that is or holds the answer:
    the entities a deeper question can hide."""
    found = []
    for match in _NAME_SPAN.finditer(question):
        span = match.group(0).rstrip(".'’")
        words = span.split()
        if match.start() == 0 and words and words[0].lower() in _QUESTION_WORDS:
            span = " ".join(words[1:])
        if span.endswith(("'s", "’s")):
            span = span[:-2]
        if (sum(c.isalpha() for c in span) >= 3 and not mentions(span, answer) and not mentions(answer, span)
                and span not in found):
            found.append(span)
    return sorted(found, key=len, reverse=True)


def replace_entity(question: str, entity: str, description: str) -> str:
    """``question`` with ``entity`` (any case) replaced by ``description`` (its leading capital lowered)."""
    description = description.strip().rstrip(".")
    if description[:1].isupper() and not description[:2].isupper():
        description = description[0].lower() + description[1:]
    return re.sub(re.escape(entity), lambda _: description, question, flags=re.IGNORECASE)


def is_name(entity: str) -> bool:
    """Whether ``entity`` looks like a name ("Arctic Monkeys", "U2"), not a common noun ("the album")."""
    return any(c.isupper() or c.isdigit() for c in entity)


@register_operator
class AgenticRAGDepthQAGenerator(LLMGenerator):
    """Makes each atomic question one hop deeper through a bridging passage retrieved from the corpus.

    For a source row (a question in ``input_question_key``; when ``input_type_key`` is bound, only rows
    whose type is in ``from_types``): the model names the entity the question asks about (template
    ``agentic_rag/depth_entity``, schema ``{entity}``; it must be a name, with a capital letter or a
    digit, written in the question and differ from the answer); the corpus of the ``retriever`` resource
    is searched with the entity, the row's own passage (``input_id_key``) left out, and the best of the
    top ``top_k`` passages that mentions the entity is the bridge. When the model's entity has no bridge
    (or is the answer, as a small model often says), the other names written in the question are tried,
    longest first (:func:`name_candidates`); the model then describes the entity from the bridge and rewrites the question
    with the description in its place (``agentic_rag/depth_rewrite``, schema ``{description, question}``).
    When the model's question is unchanged or still names the entity, the description is put in place
    of the entity in the old question instead. The new question is kept when it no longer names the entity, does not give the answer, differs from
    the old one, and at least ``min_description_support`` of the description's content words are in the
    bridge passage. The reference takes the bridge from the model's memory; here it is retrieved.

    Each deeper question is a new row after its source row (same answer columns), with
    ``output_question_key`` the NEW question, ``output_documents_key`` ``[bridge passage, own passage]``
    (what :class:`AgenticRAGDocumentDependenceFilter` must verify it on, bound to these columns),
    ``output_type_key`` ``deeper``, the old question in ``output_source_question_key``, and
    ``output_entity_key``, ``output_description_key``, ``output_bridge_id_key``,
    ``output_bridge_passage_key``. With ``keep_source`` the source row goes on unchanged beside it (its
    documents: its own passage); without, a source row without a deeper question is dropped (``no
    deeper question``). Rows that are not sources pass through. A failed call rejects the source row.
    """

    input_question_key = InputColumn("question", "str", nullable=True)
    input_answer_key = InputColumn("refined_answer", "str", nullable=True)
    input_key = InputColumn("contents", "str", nullable=True)
    input_id_key = InputColumn("id", "any", nullable=True)
    input_type_key = InputColumn(None, "str", nullable=True)
    output_question_key = OutputColumn("question", "str")
    output_documents_key = OutputColumn("documents", "list")
    output_type_key = OutputColumn("qa_type", "str")
    output_source_question_key = OutputColumn("source_question", "str")
    output_entity_key = OutputColumn("entity", "str")
    output_description_key = OutputColumn("description", "str")
    output_bridge_id_key = OutputColumn("bridge_id", "str")
    output_bridge_passage_key = OutputColumn("bridge_passage", "str")
    resources = ("llm", "retriever")
    default_template = ENTITY_TEMPLATE
    prompt_inputs = {"question": "input_question_key", "answer": "input_answer_key"}
    provided_variables = frozenset({"entity", "bridge"})
    no_output_reason = "no deeper question"

    def __init__(self, top_k: int = 5, keep_source: bool = True, from_types: tuple[str, ...] | None = ("atomic",),
                 min_description_support: float = 0.5, max_passage_chars: int = 1500,
                 prompt_template: str = ENTITY_TEMPLATE, rewrite_template: str = REWRITE_TEMPLATE,
                 system_prompt: str | None = None, temperature: float = 0.0, max_tokens: int = 160,
                 seed: int | None = 0, llm_serving: Any = None, retriever: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.retriever = retriever
        self.top_k, self.keep_source = top_k, keep_source
        self.from_types = list(from_types) if from_types is not None else None
        self.min_description_support, self.max_passage_chars = min_description_support, max_passage_chars
        self.rewrite_template = rewrite_template
        self.rewriter = resolve_template(rewrite_template)

    def schema(self) -> dict:
        return {"type": "object", "properties": {"entity": {"type": "string", "minLength": 1, "maxLength": 120}},
                "required": ["entity"], "additionalProperties": False}

    def rewrite_schema(self) -> dict:
        text = {"type": "string", "minLength": 1, "maxLength": 300}
        return {"type": "object", "properties": {"description": text, "question": text},
                "required": ["description", "question"], "additionalProperties": False}

    def parse(self, answer: LLMResult) -> Any:
        return answer.parsed["entity"].strip().strip("\"'")

    def parse_rewrite(self, answer: LLMResult) -> Any:
        return {"description": answer.parsed["description"].strip(), "question": answer.parsed["question"].strip()}

    def bridge(self, entity: str, hits: list[Any]) -> Any:
        """The best hit that mentions ``entity``, or None."""
        return next((h for h in hits if mentions(h.text, entity)), None)

    def check(self, old: str, new: str, answer: str, entity: str, description: str, bridge: str) -> str | None:
        """Why the rewritten question is not one hop deeper; None when it is."""
        if not new or normalize_answer(new) == normalize_answer(old):
            return "question unchanged"
        if mentions(new, entity):
            return "the question still names the entity"
        if mentions(new, answer) or mentions(description, answer):
            return "the question gives the answer"
        share = coverage(description, set(content_terms(bridge)))
        if share is not None and share < self.min_description_support:
            return "description not from the bridge passage"
        return None

    def generate(self, batch: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        cols = ctx.cols
        questions, answers = column_texts(batch, cols.input_question_key), column_texts(batch, cols.input_answer_key)
        passages = column_texts(batch, cols.input_key)
        ids = column_texts(batch, cols.get("input_id_key"))
        sources = source_rows(batch, cols, self.from_types)
        entities = self.ask(batch, ctx, [p if s else None for p, s in zip(self.prompts(batch, ctx), sources)])
        # The model's entity first, then the other names of the question (a small model often names the
        # answer instead): the first one with a bridging passage in the corpus is used.
        tries = [(i, e) for i, entity in enumerate(entities) if isinstance(entity, str)
                 for e in dict.fromkeys([entity, *name_candidates(questions[i], answers[i])])
                 if is_name(e) and mentions(questions[i], e) and not mentions(e, answers[i])
                 and not mentions(answers[i], e)]
        hits = ctx.resource("retriever").search([e for _, e in tries], self.top_k,
                                                exclude=[[ids[i]] for i, _ in tries]) if tries else []
        found, chosen = [], set()
        for (i, e), h in zip(tries, hits):
            if i not in chosen and (b := self.bridge(e, [x for x in h if x.text != passages[i]])) is not None:
                entities[i] = e
                chosen.add(i)
                found.append((i, b))
        rows = batch.iloc[[i for i, _ in found]]
        prompts = [self.sampling.request(p, self.rewrite_schema()) for p in self.render_prompts(
            rows, self.rewriter, question=[questions[i] for i, _ in found], answer=[answers[i] for i, _ in found],
            entity=[entities[i] for i, _ in found], bridge=[b.text[:self.max_passage_chars] for _, b in found])]
        deeper: dict[int, Any] = {}
        for (i, b), made in zip(found, self.ask(rows, ctx, prompts, parse=self.parse_rewrite)):
            if isinstance(made, Reject):
                deeper[i] = made
                continue
            question = made["question"]
            why = self.check(questions[i], question, answers[i], entities[i], made["description"], b.text)
            if why in ("question unchanged", "the question still names the entity"):
                # A small model often describes the entity but does not rewrite: put the description in.
                question = replace_entity(questions[i], entities[i], made["description"])
                why = self.check(questions[i], question, answers[i], entities[i], made["description"], b.text)
            if why is None:
                deeper[i] = {"output_question_key": question, "output_documents_key": [b.text, passages[i]],
                             "output_type_key": "deeper", "output_source_question_key": questions[i],
                             "output_entity_key": entities[i], "output_description_key": made["description"],
                             "output_bridge_id_key": b.id, "output_bridge_passage_key": b.text}
        names = self.output_bindings(cols)
        defaults = {"output_question_key": questions.__getitem__, "output_documents_key": lambda i: [passages[i]],
                    "output_type_key": lambda i: "atomic"}
        children: list[Any] = []
        for i in range(len(batch)):
            failed = entities[i] if isinstance(entities[i], Reject) else deeper.get(i)
            if isinstance(failed, Reject):
                children.append(failed)
                continue
            copy = [kept_copy(batch, cols, names, i, defaults)] if self.keep_source or not sources[i] else []
            children.append(copy + ([deeper[i]] if i in deeper else []))
        return self.answer_rows(children, cols)
