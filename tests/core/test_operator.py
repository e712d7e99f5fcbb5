"""Operator kinds, bindings and params, run eagerly on a DataFrameStorage."""

from __future__ import annotations

import pandas as pd
import pytest

from dataflow.core.chunk_runner import run_isolated
from dataflow.core.eager import DataFrameStorage
from dataflow.core.errors import BindingError, ParamsError, StepError
from dataflow.core.operator import (
    DROP_REASON,
    REJECT_REASON,
    ROW_ID,
    BatchResult,
    Evaluator,
    Filter,
    Generator,
    InputColumn,
    Operator,
    OutputColumn,
    Refiner,
    Reject,
)
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


# ---------------------------------------------------------------- rejected rows from the kind hooks
class _DigitCount(Evaluator):
    input_key = InputColumn("text")
    output_key = OutputColumn("n_digits", "int")

    def evaluate(self, batch, ctx):
        return {ctx.cols.output_key: [len(t) if t.isdigit() else Reject(f"not digits: {t}")
                                      for t in batch[ctx.cols.input_key]]}


class _Shout(Refiner):
    def refine_text(self, text):
        return text.upper() if text else Reject("nothing to shout")


class _Pairs(Generator):
    """Two rows per text; texts starting with "!" are rejected (one child holds the Reject)."""

    input_key = InputColumn("text")
    output_key = OutputColumn("half", "str")

    def generate(self, batch, ctx):
        parents, halves = [], []
        for i, text in enumerate(batch[ctx.cols.input_key]):
            if text:
                parents += [i, i]
                halves += [text[: len(text) // 2], Reject("bang") if text.startswith("!") else text[len(text) // 2:]]
        return pd.DataFrame({"_parent": parents, ctx.cols.output_key: halves})


class _LengthFilter(Filter):
    """Scores are lengths; a non-string is rejected, so keep() only sees strings."""

    input_key = InputColumn("text", nullable=True)
    output_key = OutputColumn("length", "int")

    def score(self, batch, ctx):
        return {"output_key": [len(t) if isinstance(t, str) else Reject("no text") for t in batch["text"]],
                "seen": list(batch["text"])}

    def keep(self, batch, scores, ctx):
        assert all(isinstance(t, str) for t in scores["seen"]) and len(scores["output_key"]) == len(batch)
        return [n >= 3 for n in scores["output_key"]], "too short"


def _reasons(frames, column):
    return dict(zip(pd.concat(frames)[ROW_ID], pd.concat(frames)[column])) if frames else {}


def test_evaluator_and_refiner_reject_rows_with_a_reject_value():
    s = DataFrameStorage([{"text": "123"}, {"text": "12a"}, {"text": "7"}])
    _DigitCount().run(s)
    assert s.frame[ROW_ID].tolist() == ["1", "3"] and s.frame["n_digits"].tolist() == [3, 1]
    assert _reasons(s.rejected, REJECT_REASON) == {"2": "not digits: 12a"} and not s.dropped
    r = DataFrameStorage([{"text": "a"}, {"text": ""}])
    _Shout().run(r)
    assert r.frame["text"].tolist() == ["A"] and _reasons(r.rejected, REJECT_REASON) == {"2": "nothing to shout"}


def test_a_rejected_child_rejects_its_parent_and_its_siblings():
    s = DataFrameStorage([{"text": "abcd"}, {"text": "!xyz"}, {"text": ""}, {"text": "ef"}])
    _Pairs().run(s)
    assert s.frame[ROW_ID].tolist() == ["1.0", "1.1", "4.0", "4.1"]
    assert s.frame["half"].tolist() == ["ab", "cd", "e", "f"]
    assert _reasons(s.rejected, REJECT_REASON) == {"2": "bang"}
    assert _reasons(s.dropped, DROP_REASON) == {"3": "no output generated"}


def test_filter_scores_can_reject_rows_before_keep_sees_them():
    s = DataFrameStorage([{"text": "long"}, {"text": None}, {"text": "ab"}, {"text": "xyz"}])
    _LengthFilter().run(s)
    assert s.frame["text"].tolist() == ["long", "xyz"] and s.frame["length"].tolist() == [4, 3]
    assert "seen" not in s.frame  # a score that is not an output binding is handed to keep() only
    assert _reasons(s.rejected, REJECT_REASON) == {"2": "no text"}
    dropped = pd.concat(s.dropped)
    assert dropped[ROW_ID].tolist() == ["3"] and dropped["length"].tolist() == [2]
    assert dropped[DROP_REASON].tolist() == ["too short"]


def test_fingerprint_extras_count_in_the_step_fingerprint():
    from dataflow.core.plan import Step, fingerprint_steps

    class Versioned(Upper):
        table = "v1"

        def fingerprint_extras(self):
            return [self.table]

    op = Versioned()
    steps = [Step(index=1, op=op, bindings=op.resolve_bindings({}))]
    fingerprint_steps(steps, "input", "")
    first = steps[0].fingerprint
    Versioned.table = "v2"
    fingerprint_steps(steps, "input", "")
    assert steps[0].fingerprint != first
    assert Operator.fingerprint_extras(op) == []
