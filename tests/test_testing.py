"""dataflow.testing.run_operator: what an operator kept, dropped and rejected, with reasons, for every kind."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from dataflow.core.operator import Generator, InputColumn, OutputColumn
from dataflow.core.registry import OPERATORS
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, user_text

INTERNAL = ("_row_id", "_drop_reason", "_reject_reason")


def test_a_filter_keeps_and_drops_rows_with_their_reasons():
    op = OPERATORS.get("WordNumberFilter")(min_words=3)
    result = run_operator(op, [{"text": "one two three", "id": 1}, {"text": "too short", "id": 2},
                               {"text": "four words are here", "id": 3}], input_key="text")
    assert result.kept == [{"text": "one two three", "id": 1, "word_count": 3},
                           {"text": "four words are here", "id": 3, "word_count": 4}]
    assert result.kept_ids == ["1", "3"]
    assert result.dropped == [{"text": "too short", "id": 2, "word_count": 2, "reason": "word_count < 3"}]
    assert result.drop_reasons == ["word_count < 3"]
    assert result.rejected == [] and result.reject_reasons == [] and result.errors == []
    assert result.written == ["word_count"]
    assert list(result.kept_frame.columns) == ["text", "id", "word_count"]
    assert list(result.dropped_frame.columns) == ["text", "id", "word_count", "reason"]
    assert result.kept_frame.index.tolist() == [0, 1]


def test_a_refiner_rewrites_in_place_and_a_frame_is_accepted_as_input():
    rows = pd.DataFrame({"body": ["Hello  World", None]})
    original = rows.copy()
    result = run_operator(OPERATORS.get("LowercaseRefiner")(), rows, input_key="body")
    assert result.kept == [{"body": "hello  world"}, {"body": None}]
    assert result.written == ["body"]
    pd.testing.assert_frame_equal(rows, original)  # the caller's frame is left alone


def test_a_dataset_operator_decides_over_all_rows_and_reports_metrics():
    rows = [{"text": "same"}, {"text": "other"}, {"text": "same"}]
    result = run_operator(OPERATORS.get("ExactDeduplicateFilter")(), rows)
    assert [r["text"] for r in result.kept] == ["same", "other"]
    assert result.kept_ids == ["1", "2"]
    assert [(r["text"], r["reason"]) for r in result.dropped] == [("same", "exact duplicate")]
    assert result.metrics["removed"] == 1 and result.metrics["rows"] == 3


def test_rows_the_operator_cannot_process_are_rejected_with_the_reason():
    op = OPERATORS.get("JsonFieldExtractor")(fields={"score": "eval.score"})
    result = run_operator(op, [{"generated_content": '{"eval": {"score": 3}}'}, {"generated_content": "nope"}])
    assert result.kept == [{"generated_content": '{"eval": {"score": 3}}', "score": 3}]
    assert result.rejected == [{"generated_content": "nope", "reason": "ValueError: no JSON value found"}]
    assert result.rejected_frame["reason"].tolist() == result.reject_reasons


def test_a_generator_adding_rows_through_the_llm_serving():
    def respond(call):
        text = user_text(call)
        if "silence" in text:  # a blank pair is skipped, leaving the passage without rows
            return json.dumps({"qa_pairs": [{"question": "     ", "answer": " "}]})
        if "broken" in text:
            return None  # the backend fails on this passage
        return json.dumps({"qa_pairs": [{"question": "Who sat?", "answer": "A cat"},
                                        {"question": "Where?", "answer": "On the mat"}]})

    serving = ScriptedServing(respond)
    rows = [{"text": "a passage about cats"}, {"text": "silence"}, {"text": "broken"}]
    result = run_operator(OPERATORS.get("Text2QAGenerator")(num_qa=2), rows, serving=serving)
    assert [(r["text"], r["question"], r["answer"]) for r in result.kept] == [
        ("a passage about cats", "Who sat?", "A cat"), ("a passage about cats", "Where?", "On the mat")]
    assert result.kept_ids == ["1.0", "1.1"]
    assert result.dropped == [{"text": "silence", "reason": "no QA pairs generated"}]
    assert [r["text"] for r in result.rejected] == ["broken"]
    assert result.reject_reasons[0].startswith("llm:")
    assert len(serving.calls) >= 3


class CountingEmbedder:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts += texts
        return np.array([[float(len(t)), 1.0] for t in texts])


def test_the_embedder_is_handed_to_the_step_and_the_operator_is_left_as_it_was():
    op = OPERATORS.get("EmbeddingGenerator")(batch_size=1)
    before = dict(vars(op))
    embedder = CountingEmbedder()
    result = run_operator(op, [{"text": "ab"}, {"text": "abcd"}], embedder=embedder, output_key="vec")
    assert [r["vec"] for r in result.kept] == [[2.0, 1.0], [4.0, 1.0]]
    assert embedder.texts == ["ab", "abcd"]
    assert vars(op) == before and op.embedder is None


class FailsOnOdd(Generator):
    """Doubles numbers, but raises on odd ones (like an operator meeting data it cannot handle)."""

    input_key = InputColumn("n", "int")
    output_key = OutputColumn("double", "int")

    def generate(self, batch, ctx):
        values = batch[ctx.cols.input_key].tolist()
        if any(v % 2 for v in values):
            raise ValueError("odd number")
        return {ctx.cols.output_key: [2 * v for v in values]}


def test_rows_on_which_the_operator_raises_are_isolated_and_the_errors_kept():
    result = run_operator(FailsOnOdd(), [{"n": 2}, {"n": 3}, {"n": 4}, {"n": 6}])
    assert result.kept == [{"n": 2, "double": 4}, {"n": 4, "double": 8}, {"n": 6, "double": 12}]
    assert result.rejected == [{"n": 3, "reason": "ValueError: odd number"}]
    assert result.errors and all(str(e) == "odd number" for e in result.errors)
    assert "process" not in vars(FailsOnOdd())  # the hooks are watched without changing the class


def test_no_internal_column_reaches_the_user():
    op = OPERATORS.get("WordNumberFilter")(min_words=2)
    result = run_operator(op, [{"text": "a b"}, {"text": "a"}])
    for frame in (result.kept_frame, result.dropped_frame, result.rejected_frame):
        assert not set(INTERNAL) & set(frame.columns)
    assert all(not set(INTERNAL) & set(row) for row in result.kept + result.dropped + result.rejected)


def test_zero_rows_get_the_bound_input_columns_and_missing_columns_are_named():
    op = OPERATORS.get("WordNumberFilter")()
    result = run_operator(op, [], input_key="body")
    assert result.kept == [] and list(result.kept_frame.columns) == ["body", "word_count"]
    with pytest.raises(ValueError, match="WordNumberFilter reads column\\(s\\) 'body'"):
        run_operator(op, [{"text": "a"}], input_key="body")


def test_a_row_column_named_reason_is_not_overwritten():
    op = OPERATORS.get("WordNumberFilter")(min_words=2)
    result = run_operator(op, [{"text": "a", "reason": "mine"}])
    assert result.drop_reasons == ["word_count < 2"]
    with pytest.raises(ValueError, match="column named 'reason'"):
        result.dropped  # noqa: B018


def test_the_module_docstring_example_runs():
    import dataflow.testing

    lines = dataflow.testing.__doc__.split("::\n", 1)[1].splitlines()
    block = [line[4:] for line in itertools.takewhile(lambda line: not line or line.startswith("    "), lines)]
    assert "run_operator(" in "\n".join(block)
    exec(compile("\n".join(block), "dataflow.testing example", "exec"), {})
