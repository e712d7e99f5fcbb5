"""SQL template dedup: queries that differ only in their constants (and the spelling of names)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import (
    REJECT_REASON,
    ROW_ID,
    BatchResult,
    DatasetOperator,
    InputColumn,
    OutputColumn,
    split_dropped,
)
from dataflow.core.registry import register_operator
from dataflow.lib.sql_parse import SQLGLOT


@register_operator
class SQLTemplateDeduplicateFilter(DatasetOperator):
    """Keep the first query of each SQL template (per database when ``input_db_id_key`` is bound).

    A query's template (:func:`dataflow.lib.sql_parse.sql_template`) is its parse tree in ``dialect``
    written back as SQL with every number and string literal masked as ``?``, so ``... WHERE age > 30``
    and ``... WHERE age > 41`` are one template; with ``normalize_identifiers`` (default) names are
    compared lowercased and unquoted; with ``strip_aliases`` table aliases are resolved to their table
    and column aliases dropped. Layout, keyword case and optional ``AS`` never matter. A barrier over
    the whole dataset: the first row of a template, in input order, is kept, each later one is dropped
    with the reason ``duplicate SQL template of row <id>`` naming the kept row; ``output_key``
    (``sql_template``) receives the template text. Rows whose SQL does not parse are rejected with the
    parser's message and take no part in the grouping.
    """

    kind = "dedup"
    requires = SQLGLOT
    input_sql_key = InputColumn("SQL", "str", nullable=True)
    input_db_id_key = InputColumn(None, "str", nullable=True, description="templates are per database")
    output_key = OutputColumn("sql_template", "str", description="the query with its literals masked")

    def __init__(self, dialect: str = "sqlite", normalize_identifiers: bool = True,
                 strip_aliases: bool = False) -> None:
        super().__init__()
        self.dialect = dialect
        self.normalize_identifiers = normalize_identifiers
        self.strip_aliases = strip_aliases

    def _templates(self, batch: pd.DataFrame, ctx: Any) -> list[str | Exception]:
        from dataflow.lib.sql_parse import SQLParseError, parse_query, sql_template

        out: list[str | Exception] = []
        for sql in batch[ctx.cols.input_sql_key].tolist():
            try:
                out.append(sql_template(parse_query(sql, self.dialect), self.dialect,
                                        normalize_identifiers=self.normalize_identifiers,
                                        strip_aliases=self.strip_aliases))
            except SQLParseError as exc:
                out.append(exc)
        return out

    def _keys(self, batch: pd.DataFrame, templates: list[Any], ctx: Any) -> list[tuple[str, str] | None]:
        db_col = ctx.cols.get("input_db_id_key")
        dbs = batch[db_col].tolist() if db_col else [""] * len(batch)
        return [None if isinstance(t, Exception) else ("" if db is None else str(db), t)
                for db, t in zip(dbs, templates)]

    def scan(self, batch: pd.DataFrame, ctx: Any) -> list[tuple[tuple[str, str], str]]:
        # (key, row id) of every parsed row: templates are short, one per row.
        keys = self._keys(batch, self._templates(batch, ctx), ctx)
        return [(k, str(r)) for k, r in zip(keys, batch[ROW_ID].tolist()) if k is not None]

    def decide(self, states: list[Any]) -> dict[str, Any]:
        first: dict[tuple[str, str], str] = {}
        for state in states:
            for key, row_id in state:
                first.setdefault(key, row_id)
        rows = sum(len(s) for s in states)
        return {"first": first, "metrics": {"rows": rows, "templates": len(first),
                                            "removed": rows - len(first)}}

    def apply(self, batch: pd.DataFrame, decision: dict[str, Any], ctx: Any) -> BatchResult:
        templates = self._templates(batch, ctx)
        keys = self._keys(batch, templates, ctx)
        ids = [str(r) for r in batch[ROW_ID].tolist()]
        bad = [i for i, k in enumerate(keys) if k is None]
        ok = np.ones(len(batch), dtype=bool)
        ok[bad] = False
        rejected = batch.iloc[bad].assign(**{REJECT_REASON: [f"sql parse error: {templates[i]}" for i in bad]})
        kept_of = [decision["first"][k] for k, good in zip(keys, ok) if good]
        batch = batch[ok]
        good_ids = [r for r, good in zip(ids, ok) if good]
        keep = np.fromiter((r == k for r, k in zip(good_ids, kept_of)), dtype=bool, count=len(good_ids))
        reasons = [f"duplicate SQL template of row {k}" for k in kept_of]
        out_col = ctx.cols.output_key
        frame = batch.assign(**{out_col: [t for t, good in zip(templates, ok) if good]})
        result = split_dropped(frame, keep, reasons, [out_col])
        if bad:
            result.rejected, result.kept = rejected, None
        result.metrics = decision["metrics"]
        return result
