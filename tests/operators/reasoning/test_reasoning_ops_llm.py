"""The reasoning operators on the real embedded model: check, solve, extract, verify (short)."""

from __future__ import annotations

import pytest

from dataflow.core.eager import DataFrameStorage

QUESTIONS = [
    {"question": "Sara has 12 apples and buys 30 more. How many apples does she have now?", "gold_answer": "42"},
    {"question": "A box holds 6 eggs. How many eggs are in 5 boxes?", "gold_answer": "30"},
]


@pytest.mark.llm
def test_check_solve_extract_and_verify_on_the_embedded_model(real_llm):
    from dataflow.operators.reasoning.answer_extraction import ReasoningAnswerExtractionGenerator
    from dataflow.operators.reasoning.answer_generator import ReasoningAnswerGenerator
    from dataflow.operators.reasoning.answer_ground_truth_filter import ReasoningAnswerGroundTruthFilter
    from dataflow.operators.reasoning.question_filter import ReasoningQuestionFilter

    s = DataFrameStorage(QUESTIONS + [{"question": "What is the colour of the number seven's smell?",
                                       "gold_answer": "0"}], serving=real_llm)
    ReasoningQuestionFilter().run(s, input_key="question")
    assert [r["question"] for r in s.to_records()] == [q["question"] for q in QUESTIONS]
    assert s.dropped[0]["_drop_reason"].iloc[0].startswith("invalid question")
    ReasoningAnswerGenerator(max_tokens=160).run(s, input_key="question")
    ReasoningAnswerExtractionGenerator().run(s)
    ReasoningAnswerGroundTruthFilter().run(s)
    rows = s.to_records()
    assert [r["extracted_answer"] for r in rows] == ["42", "30"], rows
    assert all("\\boxed" in r["generated_cot"] for r in rows)
