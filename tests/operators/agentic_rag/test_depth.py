"""AgenticRAGDepthQAGenerator: the bridge is retrieved from the corpus (own passage excluded), the new
question replaces the entity with a description from the bridge, and the checks on the rewrite."""

from __future__ import annotations

import re

import pytest

from dataflow.lib.retrieval import BM25Index
from dataflow.lib.retrieval.resource import Retriever
from dataflow.operators.agentic_rag.depth import AgenticRAGDepthQAGenerator
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text

CORPUS = {
    "arctic": "Arctic Monkeys are an English rock band formed in Sheffield in 2002.",
    "am": "AM is the fifth studio album by the English rock band Arctic Monkeys, released in 2013.",
    "turner": "Alex Turner is the lead singer of a band from Sheffield.",
    "paris": "Paris is the capital of France.",
}


def corpus() -> Retriever:
    pytest.importorskip("bm25s")
    return Retriever(BM25Index(list(CORPUS), list(CORPUS.values())))


def respond(rewrite):
    def answer(call):
        text = user_text(call)
        if text.startswith("Which named entity"):
            question = re.search(r"Question: (.*)\n", text).group(1)
            return as_json(entity="Arctic Monkeys" if "Arctic" in question else "Mars" if "Mars" in question else "album")
        return rewrite(text)
    return answer


def good_rewrite(text):
    assert 'Passage about "Arctic Monkeys":\nAM is the fifth studio album' in text  # the retrieved bridge
    return as_json(description="the band whose fifth studio album is AM",
                   question="In which city was the band whose fifth studio album is AM formed?")


ROW = {"id": "arctic", "contents": CORPUS["arctic"], "question": "In which city were Arctic Monkeys formed?",
       "refined_answer": "Sheffield", "qa_type": "atomic"}


def test_the_bridge_is_retrieved_and_the_new_question_gets_its_documents():
    serving = ScriptedServing(respond(good_rewrite))
    result = run_operator(AgenticRAGDepthQAGenerator(retriever=corpus()), [ROW], serving=serving,
                          input_type_key="qa_type")
    source, deeper = result.kept
    assert (source["question"], source["qa_type"], source["documents"], source["bridge_id"]) == (
        ROW["question"], "atomic", [CORPUS["arctic"]], None)
    assert deeper["question"] == "In which city was the band whose fifth studio album is AM formed?"
    assert (deeper["qa_type"], deeper["source_question"], deeper["entity"]) == ("deeper", ROW["question"], "Arctic Monkeys")
    assert deeper["bridge_id"] == "am" and deeper["bridge_passage"] == CORPUS["am"]
    assert deeper["documents"] == [CORPUS["am"], CORPUS["arctic"]]
    assert deeper["refined_answer"] == "Sheffield" and deeper["id"] == "arctic"  # same answer, same source passage
    assert len(serving.calls) == 2 and serving.calls[1].schema["required"] == ["description", "question"]


@pytest.mark.parametrize("question, why", [
    ("In which city were Arctic Monkeys formed?", "question unchanged"),
    ("In which city was Arctic Monkeys, the band behind AM, formed?", "the question still names the entity"),
    ("Was the band whose fifth album is AM formed in Sheffield?", "the question gives the answer"),
])
def test_a_rewrite_that_is_not_deeper_is_mended_or_makes_no_row(question, why):
    op = AgenticRAGDepthQAGenerator()
    assert op.check(ROW["question"], question, "Sheffield", "Arctic Monkeys", "the band behind AM",
                    CORPUS["am"]) == why
    assert op.check(ROW["question"], "In which city was the band of the moon formed?", "Sheffield", "Arctic Monkeys",
                    "the band from the moon landing", CORPUS["am"]) == "description not from the bridge passage"
    serving = ScriptedServing(respond(lambda text: as_json(description="the band behind AM", question=question)))
    result = run_operator(AgenticRAGDepthQAGenerator(retriever=corpus(), keep_source=False), [ROW], serving=serving)
    if why == "the question gives the answer":
        assert result.kept == [] and result.drop_reasons == ["no deeper question"]
    else:  # the model did not rewrite: its description is put in place of the entity instead
        assert [r["question"] for r in result.kept] == ["In which city were the band behind AM formed?"]


def test_rows_without_a_bridge_or_of_other_types_pass_through():
    rows = [{**ROW, "id": "x1", "question": "Where is Mars?", "contents": "Mars is a planet."},  # no passage names Mars
            {**ROW, "qa_type": "wider"},
            {**ROW, "question": "What is the title of the album?"}]  # "album" is no name: no retrieval
    serving = ScriptedServing(respond(good_rewrite))
    result = run_operator(AgenticRAGDepthQAGenerator(retriever=corpus()), rows, serving=serving,
                          input_type_key="qa_type")
    assert [(r["question"], r["qa_type"]) for r in result.kept] == [("Where is Mars?", "atomic"),
                                                                    (ROW["question"], "wider"),
                                                                    ("What is the title of the album?", "atomic")]
    assert len(serving.calls) == 2  # the entities of the atomic rows only; no bridge, no rewrite


def test_the_own_passage_is_never_the_bridge():
    # Only the row's own passage names the entity besides "am": excluded by id, "am" is the bridge.
    retriever = corpus()
    hits = retriever.search(["Arctic Monkeys"], 5, exclude=[["arctic"]])[0]
    assert "arctic" not in [h.id for h in hits]
    serving = ScriptedServing(respond(lambda text: as_json(description="the band formed in 2002",
                                                           question="In which city was the band formed in 2002 formed?")))
    result = run_operator(AgenticRAGDepthQAGenerator(retriever=retriever), [{**ROW, "id": "am", "contents": CORPUS["am"]}],
                          serving=serving)
    assert 'Passage about "Arctic Monkeys":\nArctic Monkeys are an English rock band' in user_text(serving.calls[1])
    # its own passage ("am") left out, the bridge is the other passage naming the band
    assert result.kept[1]["bridge_id"] == "arctic"


def test_a_failed_call_rejects_the_source_row():
    result = run_operator(AgenticRAGDepthQAGenerator(retriever=corpus()), [ROW], serving=ScriptedServing(lambda c: None))
    assert result.reject_reasons == ["llm: scripted failure"] and result.kept == []


def test_names_in_the_question_stand_in_when_the_model_names_the_answer():
    from dataflow.operators.agentic_rag.depth import name_candidates

    assert name_candidates("What was Otto Robert Frisch's nationality?", "Austrian-British") == ["Otto Robert Frisch"]
    assert name_candidates("What is the height of U.S. Bank Tower?", "1018 ft") == ["U.S. Bank Tower"]
    assert name_candidates("Who discovered iodine-131 in the EP?", "Glenn Seaborg") == []  # no 3-letter name
    assert name_candidates("Where is Triodos Bank located?", "Triodos Bank, Netherlands") == []  # holds the answer

    def names_the_answer(call):  # a small model's habit: the "entity" is the answer
        text = user_text(call)
        return as_json(entity="Sheffield") if text.startswith("Which named entity") else good_rewrite(text)

    result = run_operator(AgenticRAGDepthQAGenerator(retriever=corpus()), [ROW],
                          serving=ScriptedServing(names_the_answer), input_type_key="qa_type")
    deeper = result.kept[1]
    assert (deeper["entity"], deeper["bridge_id"]) == ("Arctic Monkeys", "am")
