"""AgenticRAGQAF1SampleEvaluator and AgenticRAGExactMatchEvaluator: the reference's bindings, one or several
references per row (a list, or an array as Parquet gives it back), missing values, optional precision and
recall columns. (The scores themselves against HotpotQA's formula: tests/lib/test_qa_metrics.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from dataflow.operators.agentic_rag.answer_scores import (
    AgenticRAGExactMatchEvaluator,
    AgenticRAGQAF1SampleEvaluator,
)
from dataflow.testing import run_operator

ROWS = [
    {"refined_answer": "The Louvre museum", "golden_doc_answer": "Louvre"},  # P 1/2, R 1
    {"refined_answer": "Paris", "golden_doc_answer": ["Lyon", "paris."]},  # the second reference matches
    {"refined_answer": "Seine river", "golden_doc_answer": np.array(["the Seine", "Seine River"], dtype=object)},
    {"refined_answer": None, "golden_doc_answer": "Paris"},  # no prediction
    {"refined_answer": "Paris", "golden_doc_answer": None},  # no reference
    {"refined_answer": "no", "golden_doc_answer": ["yes", None]},
]


def test_f1_is_the_best_over_the_references_and_zero_without_prediction_or_reference():
    result = run_operator(AgenticRAGQAF1SampleEvaluator(), ROWS)
    assert result.written == ["F1Score"] and not result.rejected and len(result.kept) == 6
    assert [r["F1Score"] for r in result.kept] == pytest.approx([2 / 3, 1.0, 1.0, 0.0, 0.0, 0.0])


def test_f1_writes_precision_and_recall_of_the_best_reference_when_bound():
    rows = [{"pred": "Seine river in Paris", "gold": ["Seine", "the river Seine"]}]
    result = run_operator(AgenticRAGQAF1SampleEvaluator(), rows, input_prediction_key="pred",
                          input_ground_truth_key="gold", output_key="f1", output_precision_key="p",
                          output_recall_key="r")
    # "seine river in paris" vs "river seine": 2 common of 4 and 2 -> P 1/2, R 1, F1 2/3 (vs "seine": 2/5)
    assert (result.kept[0]["f1"], result.kept[0]["p"], result.kept[0]["r"]) == pytest.approx((2 / 3, 0.5, 1.0))
    assert sorted(result.written) == ["f1", "p", "r"]


def test_exact_match_after_normalisation_against_any_reference():
    result = run_operator(AgenticRAGExactMatchEvaluator(), ROWS)
    assert result.written == ["ExactMatch"]
    assert [r["ExactMatch"] for r in result.kept] == [False, True, True, False, False, False]
