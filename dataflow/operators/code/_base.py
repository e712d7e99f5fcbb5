"""Shared plumbing of the rule-based code filters: judge each row, label it 1 (pass) or 0, say why not.

A :class:`CodeRuleFilter` subclass implements :meth:`~CodeRuleFilter.check` on one row's text (plus the
optional columns it names in ``extra_inputs``) and returns ``""`` when the row passes, else the reason.
The base writes the label to ``output_key`` (the reference filters' ``*_filter_label`` columns, 1 or 0)
and keeps the rows whose label lies in ``[min_score, max_score]`` (the reference's params: the default
1.0 / 1.0 keeps passing rows; 0.0 / 0.0 keeps only the failing ones, to inspect them); a dropped row's
reason is the failed rule with the measured value, e.g. ``"avg_line_length 120.5 > 100"``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from dataflow.core.operator import Filter, InputColumn


def text_values(batch: pd.DataFrame, column: str | None) -> list[Any]:
    """The column's values with missing ones as "" (a missing text is empty); [None]*n when unbound."""
    if not column:
        return [None] * len(batch)
    return [v if isinstance(v, str) else ("" if v is None or v != v else str(v)) for v in batch[column].tolist()]


class CodeRuleFilter(Filter):
    """Base of the rule filters of the code domain (see the module doc)."""

    input_key = InputColumn("text", "str", nullable=True)
    #: {keyword of check(): binding name} for the other columns a rule reads (unbound ones give None).
    extra_inputs: ClassVar[dict[str, str]] = {}

    def __init__(self, min_score: float = 1.0, max_score: float = 1.0) -> None:
        super().__init__()
        self.min_score, self.max_score = min_score, max_score

    def check(self, text: str, **fields: Any) -> str:
        """Why this row fails the rules ("" when it passes)."""
        raise NotImplementedError

    def problems(self, batch: pd.DataFrame, ctx: Any) -> list[str]:
        texts = text_values(batch, ctx.cols.input_key)
        extras = {kw: text_values(batch, ctx.cols.get(binding)) for kw, binding in self.extra_inputs.items()}
        return [self.check(text, **{kw: values[i] for kw, values in extras.items()})
                for i, text in enumerate(texts)]

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        problems = self.problems(batch, ctx)
        labels = np.fromiter((0 if p else 1 for p in problems), dtype=np.int64, count=len(problems))
        return {"output_key": labels, "problems": problems}

    def keep(self, batch: pd.DataFrame, scores: Any, ctx: Any) -> Any:
        labels = np.asarray(scores["output_key"])
        mask = (labels >= self.min_score) & (labels <= self.max_score)
        reasons = [problem or f"label {label} outside [{self.min_score:g}, {self.max_score:g}]"
                   for problem, label in zip(scores["problems"], labels.tolist())]
        return mask, reasons
