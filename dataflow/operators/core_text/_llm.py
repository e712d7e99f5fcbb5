"""Shared plumbing of the LLM operators: prompts from templates or columns, calls, failed rows."""

from __future__ import annotations

import string
from typing import Any

import pandas as pd

from dataflow.core.operator import REJECT_REASON, BatchResult, Bindings, Column
from dataflow.core.prompts import PromptTemplate, resolve_template


def template_or_none(template: str | None) -> PromptTemplate | None:
    return resolve_template(template) if template else None


def row_values(batch: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    from dataflow.core.fileio import frame_to_records

    return frame_to_records(batch[columns], internal=True) if columns else [{} for _ in range(len(batch))]


def format_str_fields(template: str) -> list[str]:
    """Placeholders of a ``str.format`` template, in order, without repeats."""
    names: dict[str, None] = {}
    for _, field, _, _ in string.Formatter().parse(template):
        if field:
            names.setdefault(field.split(".")[0].split("[")[0], None)
    return list(names)


def ask(ctx: Any, prompts: list[str], *, system: str | None, json_schema: Any = None,
        temperature: float = 0.0, max_tokens: int = 512, seed: int | None = None) -> list[Any]:
    """One request per prompt through the step's serving; results in order."""
    from dataflow.serving.base import LLMRequest

    requests = [LLMRequest(prompt=p, system=system, json_schema=json_schema, temperature=temperature,
                           max_tokens=max_tokens, seed=seed) for p in prompts]
    return ctx.serving.generate(requests) if requests else []


def split_failures(batch: pd.DataFrame, results: list[Any], columns: dict[str, list[Any]],
                   extra_failures: dict[int, str] | None = None) -> BatchResult:
    """Rows whose call failed go to the rejects with the reason; the rest get the new columns."""
    failed = {i: f"llm: {r.error}" for i, r in enumerate(results) if r.error is not None}
    failed.update(extra_failures or {})
    ok = [i for i in range(len(batch)) if i not in failed]
    kept = batch.iloc[ok]
    if columns:
        kept = kept.assign(**{name: [values[i] for i in ok] for name, values in columns.items()})
    rejected = None
    if failed:
        bad = sorted(failed)
        rejected = batch.iloc[bad].assign(**{REJECT_REASON: [failed[i] for i in bad]})
    return BatchResult(kept, written=list(columns), rejected=rejected)


class TemplatedLLM:
    """Mixin: a Jinja2 prompt (``prompt_template``: registered name or template text) rendered per row.

    Variables in :attr:`provided_variables` are filled by the operator (from its bound columns or its
    params); any other variable of the template is a row column, which ``compile()`` checks like an
    input binding. Subclasses call :meth:`_setup_template` in ``__init__``.
    """

    prompt_template: str
    provided_variables: frozenset[str] = frozenset()

    def _setup_template(self) -> None:
        self._template: PromptTemplate = resolve_template(self.prompt_template)

    def input_columns(self, bindings: Bindings) -> dict[str, Column]:
        cols = super().input_columns(bindings)  # type: ignore[misc]
        cols.update({c: Column(c, "input", "any") for c in self._template.columns(self.provided_variables)})
        return cols

    def render_prompts(self, batch: pd.DataFrame, template: PromptTemplate | None = None,
                       **supplied: list[Any] | Any) -> list[str]:
        """One prompt per row. A list in ``supplied`` gives one value per row; anything else is shared."""
        template = template or self._template
        rows = row_values(batch, template.columns(self.provided_variables))
        return [template.render(**row, **{k: v[i] if isinstance(v, list) else v for k, v in supplied.items()})
                for i, row in enumerate(rows)]
