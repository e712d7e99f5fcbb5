"""AgenticRAGJudgeEvaluator with a scripted serving: the verdict and reason come from the schema-bound
answer; exact matches, missing predictions and missing references are decided without a call; a failed
call or an unreadable answer rejects the row."""

from __future__ import annotations

import re

from dataflow.operators.agentic_rag.judge import AgenticRAGJudgeEvaluator
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text

ROWS = [
    {"question": "How tall is the Eiffel Tower?", "refined_answer": "about 330 metres", "golden_doc_answer": "330 m"},
    {"question": "Who wrote Hamlet?", "refined_answer": "Marlowe", "golden_doc_answer": ["William Shakespeare", "Shakespeare"]},
    {"question": "Capital of France?", "refined_answer": "paris.", "golden_doc_answer": "Paris"},  # exact
    {"question": "Capital of Italy?", "refined_answer": "  ", "golden_doc_answer": "Rome"},
    {"question": "Capital of Spain?", "refined_answer": "Madrid", "golden_doc_answer": None},
    {"question": "When did it open?", "refined_answer": "in 1889", "golden_doc_answer": "1889 AD"},
    {"question": "Which river?", "refined_answer": "the Seine", "golden_doc_answer": "Seine River"},
]


def respond(call):
    prompt = user_text(call)
    predicted = re.search(r"Predicted answer: (.*)", prompt).group(1)
    if predicted == "about 330 metres":
        return as_json(correct=True, reason="330 metres is 330 m.")
    if predicted == "Marlowe":
        return as_json(correct=False, reason=" Hamlet is by Shakespeare. ")
    if predicted == "in 1889":
        return None  # the call fails
    return '{"correct": "maybe"}'  # not the schema: repaired in vain, the row is rejected


def test_the_judge_writes_verdicts_and_reasons_and_skips_the_decided_rows():
    serving = ScriptedServing(respond)
    result = run_operator(AgenticRAGJudgeEvaluator(), ROWS, serving=serving)
    assert sorted(result.written) == ["judge_correct", "judge_reason"]
    verdicts = {r["question"]: (r["judge_correct"], r["judge_reason"]) for r in result.kept}
    assert verdicts == {
        "How tall is the Eiffel Tower?": (True, "330 metres is 330 m."),
        "Who wrote Hamlet?": (False, "Hamlet is by Shakespeare."),
        "Capital of France?": (True, "exact match"),
        "Capital of Italy?": (False, "no prediction"),
        "Capital of Spain?": (False, "no reference"),
    }
    assert sorted(r["question"] for r in result.rejected) == ["When did it open?", "Which river?"]
    failed, invalid = sorted(result.reject_reasons, key=lambda r: "schema" in r)
    assert failed == "llm: scripted failure" and invalid.startswith("llm: schema-invalid output")
    asked = [user_text(c) for c in serving.calls]
    assert not any("Capital of" in p for p in asked)  # decided rows never reach the model
    assert serving.calls[0].schema["required"] == ["correct", "reason"]


def test_the_prompt_lists_every_reference():
    serving = ScriptedServing(respond)
    run_operator(AgenticRAGJudgeEvaluator(), ROWS[:2], serving=serving)
    one, several = (user_text(c) for c in serving.calls)
    assert "Question: How tall is the Eiffel Tower?\nReference answer: 330 m\nPredicted answer: about 330 metres" in one
    assert "Reference answers (any of them counts):\n- William Shakespeare\n- Shakespeare\n" in several
