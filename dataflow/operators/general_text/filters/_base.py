"""Shared plumbing of the rule-based text filters: a range filter over one shared text statistic."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from dataflow.core.operator import Filter, InputColumn, RangeFilter
from dataflow.lib.text_stats import TextStats
from dataflow.operators.general_text.text_stats import shared_text_stats


class StatRangeFilter(RangeFilter):
    """Keeps rows whose statistic (see :meth:`statistic`) lies in ``[min_value, max_value]``.

    Subclasses declare ``output_key = OutputColumn("<statistic name>", ...)`` and ``score_name`` and
    implement :meth:`statistic` from the shared :class:`TextStats` of the input column.
    """

    input_key = InputColumn("text", "str", nullable=True)

    def statistic(self, stats: TextStats) -> np.ndarray:
        raise NotImplementedError

    def score(self, batch: pd.DataFrame, ctx: Any) -> np.ndarray:
        return self.statistic(shared_text_stats(batch, ctx.cols.input_key, ctx))


class RuleSetFilter(Filter):
    """A filter made of several bounded statistics (Gopher, C4, FineWeb rules).

    ``rules`` maps a statistic name to ``(min, max)`` (either may be None); a row is kept when it passes
    every rule. The score column holds the number of failed rules; the drop reason names every failed
    bound, e.g. ``"gopher_quality: n_words < 50; mean_word_length > 10"``.
    """

    input_key = InputColumn("text", "str", nullable=True)
    rule_set_name: ClassVar[str] = "rules"

    def rules(self) -> dict[str, tuple[float | None, float | None]]:
        raise NotImplementedError

    def values(self, stats: TextStats) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def failures(self, batch: pd.DataFrame, ctx: Any) -> list[list[str]]:
        """For every row, the bounds it fails (empty when kept)."""
        stats = shared_text_stats(batch, ctx.cols.input_key, ctx)
        values = self.values(stats)
        failures = [[] for _ in range(len(batch))]
        for name, (low, high) in self.rules().items():
            if low is None and high is None:
                continue
            v = np.asarray(values[name], dtype=float)
            if low is not None:
                for i in np.flatnonzero((v < low) | np.isnan(v)).tolist():
                    failures[i].append(f"{name} < {low}")
            if high is not None:
                for i in np.flatnonzero(v > high).tolist():
                    failures[i].append(f"{name} > {high}")
        return failures

    def score(self, batch: pd.DataFrame, ctx: Any) -> np.ndarray:
        failures = self.failures(batch, ctx)
        return np.fromiter(map(len, failures), dtype=np.int64, count=len(failures))

    def keep(self, batch: pd.DataFrame, scores: Any, ctx: Any) -> Any:
        failures = self.failures(batch, ctx)  # cheap: the statistics come from the memo
        reasons = [f"{self.rule_set_name}: " + "; ".join(f) if f else "" for f in failures]
        return np.asarray(scores) == 0, reasons
