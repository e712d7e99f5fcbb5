"""Two-hop question-answer pairs from a text, built on a bridge the text itself provides, and checked."""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator, Reject, column_texts
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.content_terms import STOPWORDS, content_terms, coverage, stem

DEFAULT_TEMPLATE = "knowledge/two_hop_qa"
# A sentence ends at . ! ? before a capital, digit or quote; Markdown lines (headings, list items, table
# rows) end sentences too.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])|\n+")
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)
_MARKUP = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|>\s?)")


def sentences(text: str, min_chars: int = 30, max_chars: int = 400) -> list[str]:
    """The sentences of ``text`` between ``min_chars`` and ``max_chars`` long (table rows left out)."""
    out = []
    for part in _SENTENCE_END.split(text):
        part = _MARKUP.sub("", part).strip()
        if min_chars <= len(part) <= max_chars and not part.startswith("|"):
            out.append(part)
    return out


def bridge_candidates(sentence: str) -> dict[str, str]:
    """{stem: surface form} of the words that can link two facts: names (capitalised words not opening
    the sentence, with their capitalised neighbours), numbers, and long words."""
    words = _WORD.findall(sentence)
    found: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if i > 0 and word[:1].isupper() and word.lower() not in STOPWORDS:
            j = i
            while j + 1 < len(words) and words[j + 1][:1].isupper():
                j += 1
            phrase = " ".join(words[i:j + 1])
            for w in words[i:j + 1]:
                found.setdefault(stem(w), phrase)
            i = j + 1
            continue
        if word.lower() not in STOPWORDS and (any(c.isdigit() for c in word) or len(word) >= 7):
            found.setdefault(stem(word), word)
        i += 1
    return found


def _kind(surface: str) -> int:
    """Names link facts best, then numbers, then long words."""
    return 2 if surface[:1].isupper() else 1 if any(c.isdigit() for c in surface) else 0


def bridge_pairs(sentences_: list[str], limit: int, max_share: float = 0.25) -> list[tuple[int, int, str]]:
    """Up to ``limit`` (sentence i, sentence j, bridge) with i < j sharing a bridge word that few other
    sentences have (in at most ``max_share`` of them, and at most 3), rarest first (names before numbers before long words); each sentence used once
    and near-repeats (content-word Jaccard >= 0.6) skipped."""
    cands = [bridge_candidates(s) for s in sentences_]
    terms = [set(content_terms(s)) for s in sentences_]
    df: dict[str, int] = {}
    for c in cands:
        for t in c:
            df[t] = df.get(t, 0) + 1
    most = max(2, min(3, int(max_share * len(sentences_))))
    scored = []
    for i in range(len(sentences_)):
        for j in range(i + 1, len(sentences_)):
            union = terms[i] | terms[j]
            if not union or len(terms[i] & terms[j]) / len(union) >= 0.6:
                continue
            shared = [t for t in cands[i] if t in cands[j] and df[t] <= most]
            if shared:
                best = max(shared, key=lambda t: (math.log(len(sentences_) / df[t]), _kind(cands[i][t])))
                scored.append((math.log(len(sentences_) / df[best]), -(j - i), i, j, cands[i][best]))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    chosen, used = [], set()
    for _, _, i, j, bridge in scored:
        if i not in used and j not in used:
            chosen.append((i, j, bridge))
            used.update((i, j))
            if len(chosen) == limit:
                break
    return chosen


@register_operator
class Text2MultiHopQAGenerator(LLMGenerator):
    """Writes up to ``num_q`` two-hop question-answer pairs per text in ``input_key``, each a new row that
    keeps the text's columns.

    The bridge comes from the text, not from the model: the text is split into sentences, and pairs of
    sentences that share a rare linking word (a name, a number or a long word found in at most 3
    sentences) are chosen, rarest link first, each sentence used once. For each pair the model writes a
    question that needs both facts, without naming the bridge (template ``knowledge/two_hop_qa``, schema
    ``{question, answer}``). A pair is kept only when it checks out on the two sentences (content words
    compared as in :mod:`dataflow.lib.content_terms`): the bridge is not named in the question, the
    answer is not in the question, at least ``min_answer_overlap`` of the answer's content words and
    ``min_question_overlap`` of the question's occur in the two facts, and the question and answer use
    words found only in fact 1 and words found only in fact 2 (so both facts are needed).

    Written: ``output_question_key``, ``output_answer_key``, ``output_evidence_key`` (the two sentences),
    ``output_bridge_key`` and ``output_type_key`` (``multi_hop``), the columns :class:`QAExtractor` and
    :class:`KBCQASupportFilter` read. A text without a linked pair of sentences, or whose pairs all fail
    the checks, is dropped (``no verified two-hop pair``); a text whose every call failed is rejected.
    """

    input_key = InputColumn("cleaned_chunk", "str", nullable=True)
    output_question_key = OutputColumn("question", "str")
    output_answer_key = OutputColumn("answer", "str")
    output_evidence_key = OutputColumn("supporting_facts", "list")
    output_bridge_key = OutputColumn("bridge", "str")
    output_type_key = OutputColumn("qa_type", "str")
    default_template = DEFAULT_TEMPLATE
    provided_variables = frozenset({"fact_1", "fact_2", "bridge"})
    new_rows = True
    no_output_reason = "no verified two-hop pair"

    def __init__(self, num_q: int = 2, min_sentence_chars: int = 30, max_sentence_chars: int = 400,
                 min_answer_overlap: float = 0.6, min_question_overlap: float = 0.4, max_answer_chars: int = 200,
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 256, seed: int | None = 0,
                 llm_serving: Any = None) -> None:
        if num_q < 1:
            raise ValueError("num_q must be at least 1")
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.num_q, self.min_sentence_chars, self.max_sentence_chars = num_q, min_sentence_chars, max_sentence_chars
        self.min_answer_overlap, self.min_question_overlap = min_answer_overlap, min_question_overlap
        self.max_answer_chars = max_answer_chars

    def schema(self) -> dict:
        text = {"type": "string", "minLength": 1}
        return {"type": "object", "properties": {"question": {**text, "maxLength": 300},
                                                 "answer": {**text, "maxLength": self.max_answer_chars}},
                "required": ["question", "answer"], "additionalProperties": False}

    def parse(self, answer: LLMResult) -> Any:
        return {"question": answer.parsed["question"].strip(), "answer": answer.parsed["answer"].strip()}

    def check(self, question: str, answer: str, fact_1: str, fact_2: str, bridge: str) -> str | None:
        """Why the pair is not a supported two-hop pair over the two facts; None when it is."""
        if not question or not answer or answer.lower() in question.lower():
            return "answer empty or given in the question"
        asked = set(content_terms(question))
        if set(content_terms(bridge)) <= asked:
            return "the question names the bridge"
        one, two = set(content_terms(fact_1)), set(content_terms(fact_2))
        for text, least in ((answer, self.min_answer_overlap), (question, self.min_question_overlap)):
            share = coverage(text, one | two)
            if share is not None and share < least:
                return "not supported by the facts"
        used = asked | set(content_terms(answer))
        if not used & (one - two) or not used & (two - one):
            return "does not need both facts"
        return None

    def generate(self, batch: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        jobs = []  # (row position, fact 1, fact 2, bridge)
        for row, text in enumerate(column_texts(batch, ctx.cols.input_key)):
            found = sentences(text, self.min_sentence_chars, self.max_sentence_chars)
            jobs += [(row, found[i], found[j], bridge) for i, j, bridge in bridge_pairs(found, self.num_q)]
        job_rows = batch.iloc[[j[0] for j in jobs]]
        prompts = self.render_prompts(job_rows, fact_1=[j[1] for j in jobs], fact_2=[j[2] for j in jobs],
                                      bridge=[j[3] for j in jobs])
        per_row: list[list[Any]] = [[] for _ in range(len(batch))]
        failures: dict[int, Reject] = {}
        for (row, one, two, bridge), answer in zip(jobs, self.ask(job_rows, ctx, prompts)):
            if isinstance(answer, Reject):
                failures.setdefault(row, answer)
            elif self.check(answer["question"], answer["answer"], one, two, bridge) is None:
                per_row[row].append({"output_question_key": answer["question"], "output_answer_key": answer["answer"],
                                     "output_evidence_key": [one, two], "output_bridge_key": bridge,
                                     "output_type_key": "multi_hop"})
        answers = [rows or failures.get(i, []) for i, rows in enumerate(per_row)]
        return self.answer_rows(answers, ctx.cols)
