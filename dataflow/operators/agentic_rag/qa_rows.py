"""What the deeper and wider question generators share: which rows they build on, and the unchanged copy
of a source row they keep beside the new ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from dataflow.core.bindings import Bindings
from dataflow.core.llm_operator import text_of


def source_rows(batch: pd.DataFrame, cols: Bindings, from_types: list[str] | None) -> list[bool]:
    """Per row, whether a question is built on it: it has a question and, when ``input_type_key`` is
    bound, its type is one of ``from_types``."""
    questions = [text_of(q).strip() != "" for q in batch[cols.input_question_key].tolist()]
    if not cols.get("input_type_key") or from_types is None:
        return questions
    types = batch[cols.input_type_key].tolist()
    return [q and text_of(t) in from_types for q, t in zip(questions, types)]


def kept_copy(batch: pd.DataFrame, cols: Bindings, names: list[str], row: int,
              defaults: dict[str, Callable[[int], Any]]) -> dict[str, Any]:
    """A row as it is, as {output binding: value}: the bound column's value when the row has one, else
    ``defaults[name](row)`` (None when there is no default)."""
    out = {}
    for name in names:
        column = cols.get(name)
        value = batch[column].iloc[row] if column in batch.columns else None
        if value is None or (isinstance(value, float) and value != value):
            value = defaults[name](row) if name in defaults else None
        out[name] = value
    return out
