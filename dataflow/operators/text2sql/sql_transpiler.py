"""SQL from one dialect to another (sqlglot)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import Generator, InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.lib.sql_parse import SQLGLOT


@register_operator
class SQLDialectTranspiler(Generator):
    """Rewrite each query from the ``read`` dialect (default ``sqlite``) into ``write`` (``postgres``).

    sqlglot parses ``input_sql_key`` and generates it in the target dialect into ``output_sql_key``
    (default ``sql_<write>``, e.g. ``sql_postgres``): quoting, function names (``SUBSTR`` ->
    ``SUBSTRING``), ``LIMIT``/``TOP``, casts and the like follow the target. Any dialect name sqlglot
    knows works (``mysql``, ``duckdb``, ``bigquery``, ``tsql``, ...). ``pretty`` lays the query out on
    several lines. A row is rejected, with the reason, when its SQL does not parse in ``read``
    (``sql parse error: ...``) or uses a construct the target cannot express (``cannot transpile:
    ...``); the translation is textual, so a query may still fail on the target database when it
    relies on the source's typing (SQLite compares ``'1' = 1`` loosely, PostgreSQL refuses it).
    """

    requires = SQLGLOT
    input_sql_key = InputColumn("SQL", "str", nullable=True)
    output_sql_key = OutputColumn(None, "str", description="defaults to sql_<write>")

    def __init__(self, read: str = "sqlite", write: str = "postgres", pretty: bool = False) -> None:
        super().__init__()
        try:
            from sqlglot.dialects.dialect import Dialect
        except ImportError:  # compile() reports the missing requirement
            Dialect = None  # noqa: N806
        for name in (read, write) if Dialect else ():
            Dialect.get_or_raise(name)  # an unknown dialect fails here, not on every row
        self.read, self.write, self.pretty = read, write, pretty

    def output_columns(self, bindings: Any) -> list[str]:
        return [bindings.get("output_sql_key") or f"sql_{self.write}"]

    def generate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        from dataflow.lib.sql_parse import SQLParseError, transpile

        out: list[Any] = []
        for sql in batch[ctx.cols.input_sql_key].tolist():
            try:
                out.append(transpile(sql, self.read, self.write, pretty=self.pretty))
            except SQLParseError as exc:
                out.append(Reject(f"sql parse error: {exc}"))
            except ValueError as exc:
                out.append(Reject(f"cannot transpile: {exc}"))
        return {ctx.cols.get("output_sql_key") or f"sql_{self.write}": out}
