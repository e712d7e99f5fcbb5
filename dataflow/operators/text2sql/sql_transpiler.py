"""SQL from one dialect to another (sqlglot), keeping SQLite's meaning when moving SQLite queries to
PostgreSQL."""

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
    several lines.

    From ``sqlite`` to ``postgres`` the SQLite semantics that queries rely on are carried over
    (:mod:`dataflow.lib.sql.sqlite_to_postgres`): ``LIKE`` becomes ``ILIKE``, a bare column of an
    aggregate query ``MIN()``; given ``db_root`` (the SQLite databases, rows naming theirs in
    ``input_db_id_key``), also SQLite's loose comparisons of text and numbers and its double-quoted
    strings, from the column types, as :func:`~dataflow.lib.sql.sqlite_to_postgres.copy_sqlite_to_postgres`
    creates them. A row is rejected, with the reason, when its SQL does not parse in ``read`` (``sql
    parse error: ...``), uses a construct the target cannot express (``cannot transpile: ...``) or names
    a database that is not under ``db_root``.
    """

    requires = SQLGLOT
    path_params = ("db_root",)
    input_sql_key = InputColumn("SQL", "str", nullable=True)
    input_db_id_key = InputColumn(None, "str", nullable=True, description="the row's database under db_root")
    output_sql_key = OutputColumn(None, "str", description="defaults to sql_<write>")

    def __init__(self, read: str = "sqlite", write: str = "postgres", pretty: bool = False,
                 db_root: str | None = None) -> None:
        super().__init__()
        try:
            from sqlglot.dialects.dialect import Dialect
        except ImportError:  # compile() reports the missing requirement
            Dialect = None  # noqa: N806
        for name in (read, write) if Dialect else ():
            Dialect.get_or_raise(name)  # an unknown dialect fails here, not on every row
        self.read, self.write, self.pretty, self.db_root = read, write, pretty, db_root
        self.keeps_sqlite = read == "sqlite" and write in ("postgres", "postgresql")
        self._kinds: dict[str, Any] = {}

    def output_columns(self, bindings: Any) -> list[str]:
        return [bindings.get("output_sql_key") or f"sql_{self.write}"]

    def column_kinds(self, db_id: str) -> Any:
        """The column kinds of the row's SQLite database (cached), or None without ``db_root``."""
        if self.db_root is None:
            return None
        if db_id not in self._kinds:
            from dataflow.lib.sql import DatabaseSet
            from dataflow.lib.sql.sqlite_to_postgres import column_kinds

            path = DatabaseSet(db_root=self.db_root).sqlite_path(db_id)
            if path is None:
                raise LookupError(f"no database {db_id!r} under {self.db_root}")
            self._kinds[db_id] = column_kinds(path)
        return self._kinds[db_id]

    def translate(self, sql: str, db_id: str) -> str:
        from dataflow.lib.sql_parse import transpile

        if not self.keeps_sqlite:
            return transpile(sql, self.read, self.write, pretty=self.pretty)
        from dataflow.lib.sql.sqlite_to_postgres import sqlite_to_postgres

        return sqlite_to_postgres(sql, self.column_kinds(db_id), pretty=self.pretty)

    def generate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        from dataflow.lib.sql_parse import SQLParseError
        from dataflow.operators.text2sql.execution import row_db_ids

        out: list[Any] = []
        for sql, db_id in zip(batch[ctx.cols.input_sql_key].tolist(), row_db_ids(batch, ctx)):
            try:
                out.append(self.translate(sql, db_id))
            except SQLParseError as exc:
                out.append(Reject(f"sql parse error: {exc}"))
            except LookupError as exc:
                out.append(Reject(str(exc)))
            except ValueError as exc:
                out.append(Reject(f"cannot transpile: {exc}"))
        return {ctx.cols.get("output_sql_key") or f"sql_{self.write}": out}
