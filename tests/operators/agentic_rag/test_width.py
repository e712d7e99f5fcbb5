"""AgenticRAGWidthQAGenerator: rows paired by retrieval of their passages (not by row order), one
combined question per pair, kept only when it splits back into the two questions and its answer holds
both answers."""

from __future__ import annotations

import re

import pytest

from dataflow.lib.retrieval import BM25Index
from dataflow.lib.retrieval.resource import Retriever
from dataflow.operators.agentic_rag.width import AgenticRAGWidthQAGenerator, pair_by_retrieval, token_recall
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text

CORPUS = {
    "monkeys": "Arctic Monkeys are an English rock band formed in Sheffield in 2002.",
    "lyon": "Lyon is a city in France on the Rhone river, famous for its cuisine.",
    "pulp": "Pulp were an English rock band formed in Sheffield in 1978 by Jarvis Cocker.",
    "marseille": "Marseille is a port city in France on the Mediterranean, famous for its cuisine.",
    "noise": "Photosynthesis turns light into chemical energy in plants.",
}
# In row order, neighbours are unrelated: the band rows are 0 and 2, the French cities 1 and 3.
ROWS = [
    {"id": "monkeys", "question": "When were Arctic Monkeys formed?", "refined_answer": "2002"},
    {"id": "lyon", "question": "On which river is Lyon?", "refined_answer": "the Rhone"},
    {"id": "pulp", "question": "Who formed Pulp?", "refined_answer": "Jarvis Cocker"},
    {"id": "marseille", "question": "On which sea is Marseille?", "refined_answer": "Mediterranean"},
    {"id": "noise", "question": "What does photosynthesis make?", "refined_answer": "chemical energy"},
]
ROWS = [{**r, "contents": CORPUS[r["id"]], "answer": r["refined_answer"], "qa_type": "atomic"} for r in ROWS]


def corpus() -> Retriever:
    pytest.importorskip("bm25s")
    return Retriever(BM25Index(list(CORPUS), list(CORPUS.values())))


def respond(call):
    text = user_text(call)
    if text.startswith("Combine"):
        one, two = re.findall(r"Question \d: (.*)\n", text)
        a1, a2 = re.findall(r"Answer \d: (.*)\n", text)
        return as_json(question=f"{one[:-1]}, and {two[0].lower()}{two[1:]}", answer=f"{a1}; {a2}")
    question = re.search(r"Question: (.*)\n", text).group(1)
    one, two = question.split(", and ")
    return as_json(questions=[one + "?", two[0].upper() + two[1:]])


def test_rows_are_paired_by_retrieval_not_by_row_order():
    serving = ScriptedServing(respond)
    result = run_operator(AgenticRAGWidthQAGenerator(retriever=corpus()), ROWS, serving=serving,
                          input_type_key="qa_type")
    wider = [r for r in result.kept if r["qa_type"] == "wider"]
    assert [r["source_ids"] for r in wider] == [["monkeys", "pulp"], ["lyon", "marseille"]]
    first = wider[0]
    assert first["question"] == "When were Arctic Monkeys formed, and who formed Pulp?"
    assert first["refined_answer"] == first["answer"] == "2002; Jarvis Cocker"
    assert first["optional_answer"] == ["2002; Jarvis Cocker", "2002 and Jarvis Cocker"]
    assert first["documents"] == [CORPUS["monkeys"], CORPUS["pulp"]]
    assert first["source_questions"] == [ROWS[0]["question"], ROWS[2]["question"]]
    # the sources stay, each followed by its wider question; the unrelated passage is paired with nothing
    assert [(r["id"], r["qa_type"]) for r in result.kept] == [
        ("monkeys", "atomic"), ("monkeys", "wider"), ("lyon", "atomic"), ("lyon", "wider"), ("pulp", "atomic"),
        ("marseille", "atomic"), ("noise", "atomic")]
    assert result.kept[0]["documents"] == [CORPUS["monkeys"]] and result.kept[0]["source_ids"] == ["monkeys"]
    assert len(serving.calls) == 4  # combine and split for each of the two pairs


def test_without_keep_source_only_wider_questions_and_other_types_go_on():
    rows = [*ROWS[:3], {**ROWS[3], "qa_type": "deeper"}]
    result = run_operator(AgenticRAGWidthQAGenerator(retriever=corpus(), keep_source=False), rows,
                          serving=ScriptedServing(respond), input_type_key="qa_type")
    assert [(r["id"], r["qa_type"]) for r in result.kept] == [("monkeys", "wider"), ("marseille", "deeper")]
    assert result.drop_reasons == ["no wider question"] * 2  # lyon (its partner is not a source) and pulp


def test_a_combination_that_does_not_split_back_or_loses_an_answer_is_not_kept():
    def bad(call):
        text = user_text(call)
        if text.startswith("Combine"):
            return as_json(question="Which English bands come from Sheffield?", answer="2002; Jarvis Cocker")
        return as_json(questions=["Which bands are English?", "Which bands come from Sheffield?"])
    result = run_operator(AgenticRAGWidthQAGenerator(retriever=corpus()), ROWS[:3], serving=ScriptedServing(bad))
    assert all(r["qa_type"] == "atomic" for r in result.kept) and len(result.kept) == 3

    def lost(call):
        return as_json(question="When were Arctic Monkeys formed and who formed Pulp?", answer="in 2002")
    serving = ScriptedServing(lost)
    result = run_operator(AgenticRAGWidthQAGenerator(retriever=corpus()), ROWS[:3], serving=serving)
    assert len(result.kept) == 3 and len(serving.calls) == 1  # no split asked: the answer misses Jarvis Cocker


def test_pairing_and_answer_recall():
    # 0 and 1 rank each other first; 2 ranks 0 first, but 0 is taken: 2 pairs with 3.
    assert pair_by_retrieval(["a", "b", "c", "d"], [["b"], ["a", "c"], ["a", "d"], ["c"]]) == [(0, 1), (2, 3)]
    assert pair_by_retrieval(["a", "a"], [["a"], ["a"]]) == []  # same passage
    assert token_recall("2002; Jarvis Cocker", "Jarvis Cocker") == 1.0
    assert token_recall("in 2002", "The Jarvis Cocker") == 0.0
