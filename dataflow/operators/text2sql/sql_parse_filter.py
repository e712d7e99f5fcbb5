"""Drop SQL that does not parse; optionally rewrite what does in a canonical layout."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import Filter, InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.sql_parse import SQLGLOT


@register_operator
class SQLParseFilter(Filter):
    """Keep rows whose SQL is one query that parses in ``dialect`` (default ``sqlite``).

    Dropped, with the reason ``sql parse error: <message>`` (sqlglot's first error, its line, column
    and the token it stopped at): text that does not parse, empty text, several statements, and, with
    ``require_query`` (default), a statement that is not a query (``DROP TABLE``, ``INSERT``; sqlglot
    would also read a bare ``hello world`` as a column with an alias, which is refused as well since it
    is not a SELECT). When ``output_key`` is bound, kept rows get their SQL there in sqlglot's
    canonical layout for the dialect (one line; keywords upper case; ``pretty`` for several lines).
    Parsing is lenient where sqlglot is: it checks syntax, not that tables or columns exist (that is
    :class:`SQLExecutabilityFilter`'s job).
    """

    requires = SQLGLOT
    input_sql_key = InputColumn("SQL", "str", nullable=True)
    output_key = OutputColumn(None, "str", description="the canonical SQL text, when bound")

    def __init__(self, dialect: str = "sqlite", require_query: bool = True, pretty: bool = False) -> None:
        super().__init__()
        self.dialect, self.require_query, self.pretty = dialect, require_query, pretty

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        from dataflow.lib.sql_parse import SQLParseError, format_sql, parse_query

        formatted, reasons = [], []
        for sql in batch[ctx.cols.input_sql_key].tolist():
            try:
                tree = parse_query(sql, self.dialect, require_query=self.require_query)
                formatted.append(format_sql(tree, self.dialect, pretty=self.pretty))
                reasons.append("")
            except SQLParseError as exc:
                formatted.append(None)
                reasons.append(f"sql parse error: {exc}")
        return {"output_key": formatted, "reasons": reasons}

    def keep(self, batch: pd.DataFrame, scores: Any, ctx: Any) -> Any:
        return [not r for r in scores["reasons"]], scores["reasons"]
