"""Operator kinds, bindings and params, run eagerly on a DataFrameStorage."""

from __future__ import annotations

import pytest

from dataflow.core.chunk_runner import run_isolated
from dataflow.core.eager import DataFrameStorage
from dataflow.core.errors import BindingError, ParamsError, StepError
from dataflow.core.operator import ROW_ID, BatchResult
from tests.core.sample_ops import Checksum, ExactDedup, Explode, SplitWords, Suffix, Upper, WordCount


def test_refiner_rewrites_in_place_and_can_write_elsewhere():
    s = DataFrameStorage([{"text": "ab"}, {"text": "cd"}])
    Upper().run(s)
    assert s.frame["text"].tolist() == ["AB", "CD"]
    Suffix(suffix="?").run(s, output_key="asked")
    assert s.frame["asked"].tolist() == ["AB?", "CD?"] and s.frame["text"].tolist() == ["AB", "CD"]


def test_range_filter_writes_score_and_reason_per_bound():
    s = DataFrameStorage([{"text": "one"}, {"text": "one two"}, {"text": "a b c d"}])
    WordCount(min_words=2, max_words=3).run(s)
    assert s.frame["text"].tolist() == ["one two"]
    assert s.frame["n_words"].tolist() == [2]
    reasons = s.dropped[0].set_index("text")["_drop_reason"].to_dict()
    assert reasons == {"one": "word_count < 2", "a b c d": "word_count > 3"}


def test_generator_adds_rows_with_stable_child_ids_and_drops_childless_rows():
    s = DataFrameStorage([{"text": "a b c"}, {"text": ""}, {"text": "d"}])
    SplitWords(max_parts=2).run(s)
    assert s.frame[ROW_ID].tolist() == ["1.0", "1.1", "3.0"]
    assert s.frame["part"].tolist() == ["a", "b", "d"]
    assert s.dropped[0][ROW_ID].tolist() == ["2"]


def test_evaluator_adds_column_and_drops_nothing():
    s = DataFrameStorage([{"text": "x"}, {"text": "y"}])
    Checksum().run(s, output_key="h")
    assert len(s.frame) == 2 and s.frame["h"].str.len().tolist() == [8, 8]


def test_dataset_operator_dedups_and_names_the_kept_row():
    s = DataFrameStorage([{"text": "a"}, {"text": "b"}, {"text": "a"}])
    ExactDedup().run(s)
    assert s.frame["text"].tolist() == ["a", "b"]
    assert s.dropped[0]["_drop_reason"].tolist() == ["duplicate of row 1"]


def test_params_are_validated_against_the_schema():
    with pytest.raises(ParamsError, match="min_words"):
        WordCount(min_words="many")
    schema = WordCount.params_schema()
    assert schema["properties"]["min_words"]["type"] == "integer"
    assert WordCount(min_words=3).params == {"min_words": 3, "max_words": None}


def test_unknown_binding_is_an_error_listing_the_valid_ones():
    with pytest.raises(BindingError, match="input_key, output_key"):
        WordCount().run(DataFrameStorage([{"text": "x"}]), input_col="text")


def test_failing_rows_are_rejected_with_reason_and_others_processed():
    s = DataFrameStorage([{"text": "fine"}, {"text": "BOOM here"}, {"text": "also fine"}, {"text": "ok"}])
    Explode().run(s)
    assert s.frame["text"].tolist() == ["fine", "also fine", "ok"]
    rejected = s.rejected[0]
    assert rejected["text"].tolist() == ["BOOM here"]
    assert rejected["_reject_reason"].iloc[0].startswith("ValueError: cannot handle")


def test_an_operator_failing_on_every_row_is_a_step_error():
    s = DataFrameStorage([{"text": "BOOM 1"}, {"text": "BOOM 2"}])
    with pytest.raises(StepError, match="every row"):
        Explode().run(s)


def test_run_isolated_keeps_row_order():
    import pandas as pd

    frame = pd.DataFrame({"_row_id": [str(i) for i in range(9)], "v": range(9)})

    def fn(f):
        if (f["v"] == 4).any():
            raise RuntimeError("4 is bad")
        return BatchResult(f)

    out = run_isolated(fn, frame, "t")
    assert out.frame["v"].tolist() == [0, 1, 2, 3, 5, 6, 7, 8]
    assert out.rejected["v"].tolist() == [4]
