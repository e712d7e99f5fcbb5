"""AgenticRAGAtomicTaskGenerator: facts -> questions per passage, refined answers and variants, and the
checks that leave out tasks whose answer is in the question or not in the passage."""

from __future__ import annotations

import re

from dataflow.operators.agentic_rag.atomic import AgenticRAGAtomicTaskGenerator, answer_variants
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text

ARCTIC = ('"Arctic Monkeys"\nArctic Monkeys are an English rock band formed in Sheffield in 2002. '
          "The group consists of Alex Turner, Jamie Cook, Nick O'Malley and Matt Helders.")
TASKS = [
    {"fact": "formed in Sheffield in 2002", "question": "In which city were Arctic Monkeys formed?",
     "answer": "in Sheffield"},
    # the answer is given in the question: left out
    {"fact": "formed in 2002", "question": "Were Arctic Monkeys formed in 2002?", "answer": "2002"},
    # not in the passage: left out
    {"fact": "signed to Domino", "question": "Which label signed Arctic Monkeys?", "answer": "Domino Recording Company"},
    # the answer mostly repeats the question: left out
    {"fact": "Alex Turner sings", "question": "Who is Alex Turner?", "answer": "Alex J. Turner"},
    # the same question again: kept once
    {"fact": "formed in Sheffield", "question": "In which city were Arctic Monkeys formed? ", "answer": "Sheffield"},
    {"fact": "Alex Turner", "question": "Who is the singer of Arctic Monkeys?", "answer": "Alex Turner"},
]


def respond(call):
    text = user_text(call)
    if text.startswith("Read the passage"):
        if "Passage:\nbroken" in text:
            return None
        return as_json(identifier="Arctic Monkeys", tasks=TASKS[:call.schema["properties"]["tasks"]["maxItems"]])
    answer = re.search(r"\nAnswer: (.*)\n", text).group(1)
    if answer == "in Sheffield":
        return as_json(refined_answer="Sheffield", alternatives=["Sheffield, England", "sheffield", "Leeds?"][:2])
    return as_json(refined_answer="lead vocalist Turner", alternatives=["Alexander Turner"])


def test_tasks_become_rows_with_refined_answers_and_variants():
    serving = ScriptedServing(respond)
    rows = [{"id": "p1", "contents": ARCTIC}, {"id": "p2", "contents": "  "}]
    result = run_operator(AgenticRAGAtomicTaskGenerator(num_q=6), rows, serving=serving)
    kept = [(r["id"], r["question"], r["answer"], r["refined_answer"], r["optional_answer"]) for r in result.kept]
    assert kept == [
        ("p1", "In which city were Arctic Monkeys formed?", "in Sheffield", "Sheffield",
         ["Sheffield", "in Sheffield", "Sheffield, England"]),
        # a refined answer the passage does not support (two of its three words are not in it) falls back to the answer
        ("p1", "Who is the singer of Arctic Monkeys?", "Alex Turner", "Alex Turner", ["Alex Turner", "Alexander Turner"]),
    ]
    assert {(r["qa_type"], r["identifier"], r["contents"]) for r in result.kept} == {("atomic", "Arctic Monkeys", ARCTIC)}
    assert result.kept[0]["fact"] == "formed in Sheffield in 2002"
    assert result.kept_ids == ["1.0", "1.1"]
    assert result.drop_reasons == ["no question from the passage"]  # the blank passage, never sent
    assert len(serving.calls) == 1 + 2  # one facts request, one refine request per kept task
    assert serving.calls[0].schema["properties"]["tasks"]["maxItems"] == 6


def test_num_q_bounds_the_tasks_asked_for_and_kept():
    serving = ScriptedServing(respond)
    result = run_operator(AgenticRAGAtomicTaskGenerator(num_q=1), [{"contents": ARCTIC}], serving=serving)
    assert [r["question"] for r in result.kept] == ["In which city were Arctic Monkeys formed?"]
    assert "up to 1 questions" in user_text(serving.calls[0])


def test_failed_calls_reject_the_passage():
    result = run_operator(AgenticRAGAtomicTaskGenerator(num_q=6), [{"contents": "broken"}, {"contents": ARCTIC}],
                          serving=ScriptedServing(respond))
    assert result.reject_reasons == ["llm: scripted failure"]
    assert len(result.kept) == 2


def test_answer_variants_drop_repeats_and_blanks():
    assert answer_variants("The Beatles", "beatles", "", None, "Fab Four") == ["The Beatles", "Fab Four"]
