"""Plumbing shared by the LLM operators of the reasoning domain: templates, calls, failed rows.

A reasoning prompt template reads a few variables the operator supplies itself (``question``,
``question_a``/``question_b``, ``categories``, ...); every other variable it uses is a column of the
row, which ``compile()`` checks like any input binding.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import REJECT_REASON, Bindings, Column
from dataflow.core.prompts import PromptTemplate, resolve_template
from dataflow.operators.core_text._llm import ask, row_values

__all__ = ["TemplatedLLM", "ask", "is_blank", "rejected_rows"]


class TemplatedLLM:
    """Mixin: a Jinja2 prompt (``prompt_template``: registered name or template text) rendered per row."""

    prompt_template: str
    #: Variables filled by the operator, not read from row columns.
    provided_variables: frozenset[str] = frozenset({"question"})

    def _setup_template(self) -> None:
        self._template: PromptTemplate = resolve_template(self.prompt_template)

    def input_columns(self, bindings: Bindings) -> dict[str, Column]:
        cols = super().input_columns(bindings)  # type: ignore[misc]
        cols.update({c: Column(c, "input", "any") for c in self._template.columns(self.provided_variables)})
        return cols

    def render_prompts(self, batch: pd.DataFrame, **supplied: list[Any]) -> list[str]:
        """One prompt per row: ``supplied`` holds one list (a value per row) for each provided variable."""
        rows = row_values(batch, self._template.columns(self.provided_variables))
        return [self._template.render(**row, **{k: v[i] for k, v in supplied.items()})
                for i, row in enumerate(rows)]


def is_blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def rejected_rows(batch: pd.DataFrame, failures: dict[int, str]) -> pd.DataFrame | None:
    """Rows of ``batch`` (by position) that could not be processed, each with its reason."""
    if not failures:
        return None
    bad = sorted(failures)
    return batch.iloc[bad].assign(**{REJECT_REASON: [failures[i] for i in bad]})
