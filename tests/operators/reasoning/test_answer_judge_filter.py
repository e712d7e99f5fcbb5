"""ReasoningAnswerModelJudgeFilter: rule verdicts without a call, the judge's verdict otherwise."""

from __future__ import annotations

import json

from dataflow.core.eager import DataFrameStorage
from dataflow.operators.reasoning.answer_judge_filter import ReasoningAnswerModelJudgeFilter
from tests.operators.reasoning.scripted_serving import ScriptedServing, user_text

ROWS = [
    {"q": "2+2?", "sol": "4", "ref": "4"},  # equal: no call
    {"q": "Half of 3?", "sol": "It is 3/2, so 1.5.", "ref": "1.5"},  # the judge says yes
    {"q": "Capital of France?", "sol": "Lyon.", "ref": "Paris"},  # the judge says no
    {"q": "Unknown?", "sol": "42", "ref": None},  # no reference: no call
]


def _judge(call):
    right = "1.5" in user_text(call)
    return json.dumps({"correct": right, "reason": "same value" if right else "different city"})


def _run(**params):
    serving = ScriptedServing(_judge)
    storage = DataFrameStorage(ROWS, serving=serving)
    ReasoningAnswerModelJudgeFilter(**params).run(storage, input_question_key="q", input_answer_key="sol",
                                                  input_reference_key="ref")
    return storage, serving


def test_drops_what_the_judge_or_the_rules_reject():
    storage, serving = _run()
    assert storage.frame["q"].tolist() == ["2+2?", "Half of 3?"]
    assert len(serving.calls) == 2  # the equal answer and the row without a reference needed no call
    dropped = storage.dropped[0]
    assert dropped["answer_match_reason"].tolist() == ["different city", "no reference"]


def test_keep_all_samples_keeps_every_row_with_its_verdict():
    storage, _ = _run(keep_all_samples=True)
    assert storage.frame["answer_match_result"].tolist() == [True, True, False, False]
