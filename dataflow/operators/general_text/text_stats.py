"""Text statistics as operators see them: one :class:`~dataflow.lib.text_stats.TextStats` per chunk.

The statistics themselves (and the table of their names) live in :mod:`dataflow.lib.text_stats`. Here
they are shared through the chunk memo (``ctx.memo``), so twenty filters in a row tokenise a column
once; after a filter drops rows the memo calls :meth:`TextStats.filter_rows` to keep them aligned.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import Evaluator, InputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.text_stats import TextStats, is_statistic

MEMO_KEY = "general_text.text_stats"


def shared_text_stats(batch: pd.DataFrame, column: str, ctx: Any = None) -> TextStats:
    """The stats of ``batch[column]``, shared through the chunk memo when a context is given."""
    if ctx is None:
        return TextStats(batch[column].tolist())
    return ctx.memo.get(column, MEMO_KEY, lambda: TextStats(batch[column].tolist()))


@register_operator
class TextStatsEvaluator(Evaluator):
    """Add text statistics as columns (no rows dropped), named ``<prefix><statistic>``.

    ``stats`` lists any name of the tables in :mod:`dataflow.lib.text_stats`: a count of
    ``STATISTICS`` (``n_words``, ``n_lines``, ``n_sentences``, ``dup_5gram_char_frac`` ...) or a
    derived ratio of ``DERIVED`` (``mean_word_length``, ``symbol_word_ratio``, ``alpha_word_ratio``,
    ``dup_line_frac``, ``digit_ratio``, ``avg_line_length`` ...). The filters read the same names, so
    a column written here holds the value a filter judges by. Uses the shared per-chunk statistics.
    """

    input_key = InputColumn("text", "str", nullable=True)

    def __init__(self, stats: list[str] | None = None, prefix: str = ""):
        super().__init__()
        self.stats = list(stats) if stats is not None else ["n_chars", "n_words", "n_lines",
                                                              "mean_word_length"]
        unknown = [s for s in self.stats if not is_statistic(s)]
        if unknown:
            raise ValueError(f"TextStatsEvaluator: unknown statistics {unknown}")
        self.prefix = prefix

    def output_columns(self, bindings: Any) -> list[str]:
        return [f"{self.prefix}{name}" for name in self.stats]

    def evaluate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        stats = shared_text_stats(batch, ctx.cols.input_key, ctx)
        return {f"{self.prefix}{name}": stats[name] for name in self.stats}
