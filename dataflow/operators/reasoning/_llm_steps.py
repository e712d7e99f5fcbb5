"""Plumbing shared by the LLM operators of the reasoning domain: templates, calls, failed rows.

A reasoning prompt template reads a few variables the operator supplies itself (``question``,
``question_a``/``question_b``, ``categories``, ...); every other variable it uses is a column of the
row, which ``compile()`` checks like any input binding.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import REJECT_REASON
from dataflow.operators.core_text._llm import TemplatedLLM as SharedTemplatedLLM
from dataflow.operators.core_text._llm import ask

__all__ = ["TemplatedLLM", "ask", "is_blank", "rejected_rows"]


class TemplatedLLM(SharedTemplatedLLM):
    """The shared template mixin; in this domain the operator fills ``question`` by default."""

    provided_variables: frozenset[str] = frozenset({"question"})


def is_blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def rejected_rows(batch: pd.DataFrame, failures: dict[int, str]) -> pd.DataFrame | None:
    """Rows of ``batch`` (by position) that could not be processed, each with its reason."""
    if not failures:
        return None
    bad = sorted(failures)
    return batch.iloc[bad].assign(**{REJECT_REASON: [failures[i] for i in bad]})
