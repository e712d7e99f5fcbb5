"""AgenticRAGDocumentDependenceFilter: kept only when answered with the documents and not without them;
drop reasons quote the model; answers and F1s written; documents as a text or a list."""

from __future__ import annotations

import re

import pytest

from dataflow.operators.agentic_rag.dependence_filter import AgenticRAGDocumentDependenceFilter, gold_answers
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text

# What the model answers per question: (closed book, with the documents).
ANSWERS = {
    "Where were Arctic Monkeys formed?": ("unknown", "Sheffield, England"),
    "What is the capital of France?": ("Paris", "Paris"),
    "Who drums in the band?": ("Ringo Starr", "Jamie Cook"),
    "Which two cities host the bands?": ("unknown", "Sheffield and Leeds"),
}


def respond(call):
    text = user_text(call)
    question = re.search(r"Question: (.*)\n", text).group(1)
    closed, with_docs = ANSWERS[question]
    return as_json(answer=with_docs if "documents below" in text else closed)


ROWS = [
    {"question": "Where were Arctic Monkeys formed?", "refined_answer": "Sheffield", "optional_answer": ["Sheffield, UK"],
     "contents": "Arctic Monkeys are a rock band formed in Sheffield."},
    {"question": "What is the capital of France?", "refined_answer": "Paris", "optional_answer": [],
     "contents": "Paris is the capital of France."},
    {"question": "Who drums in the band?", "refined_answer": "Matt Helders", "optional_answer": None,
     "contents": "Matt Helders plays drums."},
    {"question": "", "refined_answer": "x", "optional_answer": [], "contents": "nothing"},
]


def test_keeps_only_questions_that_need_their_documents():
    serving = ScriptedServing(respond)
    result = run_operator(AgenticRAGDocumentDependenceFilter(), ROWS, serving=serving)
    assert [r["question"] for r in result.kept] == ["Where were Arctic Monkeys formed?"]
    kept = result.kept[0]
    assert (kept["llm_answer"], kept["llm_answer_f1"], kept["golden_doc_answer"]) == (
        "unknown", 0.0, "Sheffield, England")
    assert kept["golden_doc_f1"] == pytest.approx(2 / 3)  # best over "Sheffield" and "Sheffield, UK"
    assert result.drop_reasons == ['answerable without the documents: "Paris"',
                                   'not answered with the documents: "Jamie Cook"', "no question"]
    by_question = {r["question"]: r for r in result.dropped}
    assert by_question["What is the capital of France?"]["golden_doc_answer"] is None  # never asked
    # 3 closed-book calls (not the empty question), then the documents only for the 2 the model missed
    assert len(serving.calls) == 5
    assert serving.calls[-1].schema["required"] == ["answer"]
    with_docs = [user_text(c) for c in serving.calls if "documents below" in user_text(c)]
    assert "Document 1:\nArctic Monkeys are a rock band formed in Sheffield." in with_docs[0]


def test_documents_may_be_a_list_and_the_threshold_is_a_param():
    rows = [{"question": "Which two cities host the bands?", "answer": "Sheffield and Leeds",
             "docs": ["The first band is from Sheffield.", "The second band is from Leeds."]}]
    serving = ScriptedServing(respond)
    result = run_operator(AgenticRAGDocumentDependenceFilter(), rows, serving=serving, input_documents_key="docs",
                          input_answer_key="answer", input_alternatives_key=None)
    assert len(result.kept) == 1 and result.kept[0]["golden_doc_f1"] == 1.0
    prompt = user_text(serving.calls[-1])
    assert "Document 1:\nThe first band is from Sheffield.\n\nDocument 2:\nThe second band is from Leeds." in prompt
    strict = run_operator(AgenticRAGDocumentDependenceFilter(min_f1=0.9), ROWS[:1], serving=ScriptedServing(respond))
    assert strict.drop_reasons == ['not answered with the documents: "Sheffield, England"']


def test_a_failed_call_rejects_the_row():
    result = run_operator(AgenticRAGDocumentDependenceFilter(), ROWS[:2], serving=ScriptedServing(
        lambda call: None if "Arctic" in user_text(call) else respond(call)))
    assert result.reject_reasons == ["llm: scripted failure"]
    assert result.drop_reasons == ['answerable without the documents: "Paris"']


def test_gold_answers_read_texts_and_lists():
    assert gold_answers("Paris", ["City of Light", ""]) == ["Paris", "City of Light"]
    assert gold_answers(None, "Paris") == ["Paris"]
