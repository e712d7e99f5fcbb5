from __future__ import annotations

import pytest

from dataflow.core.eager import DataFrameStorage
from dataflow.operators.general_text.text_stats import TextStatsEvaluator


def test_writes_the_chosen_statistics_as_columns_and_drops_nothing():
    s = DataFrameStorage([{"text": "One two three.\nFour five"}, {"text": ""}, {"text": None}])
    TextStatsEvaluator(stats=["n_words", "n_lines", "mean_word_length"], prefix="s_").run(s)
    rows = s.to_records()
    assert [r["s_n_words"] for r in rows] == [5, 0, 0]
    assert [r["s_n_lines"] for r in rows] == [2, 0, 0]
    assert rows[0]["s_mean_word_length"] == pytest.approx(len("Onetwothree.Fourfive") / 5)
    assert s.dropped == []


def test_unknown_statistic_is_refused_at_construction():
    with pytest.raises(ValueError, match="n_wordz"):
        TextStatsEvaluator(stats=["n_wordz"])
