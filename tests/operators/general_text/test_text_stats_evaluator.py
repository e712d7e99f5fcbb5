from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dataflow.core.context import ChunkMemo
from dataflow.core.eager import DataFrameStorage
from dataflow.lib.text_stats import DERIVED, STATISTICS
from dataflow.operators.general_text.text_stats import TextStatsEvaluator, shared_text_stats


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


def test_every_statistic_of_the_table_can_be_evaluated():
    names = [name for group in STATISTICS.values() for name in group] + list(DERIVED)
    s = DataFrameStorage([{"text": "a b b\n- c..."}, {"text": "x"}])
    TextStatsEvaluator(stats=names).run(s)
    assert set(names) <= set(s.to_records()[0])


class _Ctx:
    def __init__(self) -> None:
        self.memo = ChunkMemo()


def test_filters_share_one_stats_object_per_chunk_and_it_follows_dropped_rows():
    batch = pd.DataFrame({"text": ["a b c", "d e", "f"]})
    ctx = _Ctx()
    stats = shared_text_stats(batch, "text", ctx)
    assert shared_text_stats(batch, "text", ctx) is stats
    assert stats["n_words"].tolist() == [3, 2, 1]
    ctx.memo.filter_rows(np.array([False, True, True]))
    assert shared_text_stats(batch.iloc[1:], "text", ctx)["n_words"].tolist() == [2, 1]
