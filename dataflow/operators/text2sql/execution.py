"""SQL checked by running it on the row's database: executability, non-empty results, match with a gold query.

The database is configured by the operators' own params, one mechanism for Python and specs alike:
``db_root`` (SQLite: a directory in Spider's layout ``<root>/<db_id>/<db_id>.sqlite``, a directory of
``<db_id>.sqlite`` files, or one file) or ``db_url`` (a PostgreSQL server; ``db_id`` names the database
on it, empty: the URL's own), plus ``timeout_s`` per query and ``max_rows`` per result. Each worker opens
the databases it needs on first use and keeps them for its chunks. Every query runs read-only under a
time limit that stops it (see :mod:`dataflow.lib.sql`), so generated SQL can write nothing and a runaway
join costs ``timeout_s``, never more.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import Evaluator, Filter, InputColumn, Operator, OutputColumn, Reject
from dataflow.core.registry import register_operator


def row_db_ids(batch: pd.DataFrame, ctx: Any) -> list[str]:
    """Each row's database id from ``input_db_id_key`` ('' when the binding is unset or the cell empty)."""
    if not ctx.cols.get("input_db_id_key"):
        return [""] * len(batch)
    return [v if isinstance(v, str) else "" for v in batch[ctx.cols.input_db_id_key].tolist()]


class DatabaseAccess:
    """Mixin of the operators that run SQL (LLM operators too): the database params, the databases of
    this process, each database's schema for prompts, and running a column of SQL.

    Call :meth:`init_database` from the constructor; rows name their database in ``input_db_id_key``.
    """

    requires = {"sqlglot": "sqlglot"}
    # Nothing is opened until a query runs, so a directory name is enough to build one.
    example_params = {"db_root": "databases"}
    path_params = ("db_root",)
    input_db_id_key = InputColumn("db_id", "str", nullable=True,
                                  description="the database it runs on (ignored for a single SQLite file)")

    def init_database(self, db_root: str | None, db_url: str | None, timeout_s: float, max_rows: int) -> None:
        if (db_root is None) == (db_url is None):
            raise ValueError("give exactly one of db_root (SQLite) or db_url (PostgreSQL)")
        if timeout_s <= 0 or max_rows <= 0:
            raise ValueError("timeout_s and max_rows must be positive")
        self.db_root, self.db_url, self.timeout_s, self.max_rows = db_root, db_url, timeout_s, max_rows
        self._databases: Any = None
        self._schemas: dict[tuple[str, int], str] = {}
        self._pid = 0

    @property
    def dialect(self) -> str:
        return "postgres" if self.db_url else "sqlite"

    def databases(self) -> Any:
        """The open databases of this process (a forked worker opens its own connections)."""
        if self._databases is None or self._pid != os.getpid():
            from dataflow.lib.sql import DatabaseSet

            self._databases = DatabaseSet(self.db_root, self.db_url, self.timeout_s, self.max_rows)
            self._schemas = {}
            self._pid = os.getpid()
        return self._databases

    def schema_text(self, db_id: str, samples: int = 3) -> str:
        """The database's ``CREATE TABLE`` statements with sample values (cached); raises ``LookupError``
        when there is no such database."""
        databases = self.databases()
        key = (db_id, samples)
        if key not in self._schemas:
            self._schemas[key] = databases.get(db_id).schema(samples).render(samples=samples > 0)
        return self._schemas[key]

    def db_ids(self, batch: pd.DataFrame, ctx: Any) -> list[str]:
        return row_db_ids(batch, ctx)

    def teardown(self) -> None:
        if self._databases is not None and self._pid == os.getpid():
            self._databases.close()
        self._databases = None
        super().teardown()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_databases": None, "_schemas": {}, "_pid": 0}

    def execute_column(self, batch: pd.DataFrame, ctx: Any, key: str) -> list[Any]:
        """One :class:`~dataflow.lib.sql.ExecResult` per row for the SQL in binding ``key``."""
        return [self.databases().execute(db_id, sql if isinstance(sql, str) else "")
                for sql, db_id in zip(batch[ctx.cols[key]].tolist(), self.db_ids(batch, ctx))]


class SQLDatabaseOperator(DatabaseAccess, Operator):
    """Shared by the text-to-SQL execution operators: the database params and the SQL column."""

    input_sql_key = InputColumn("SQL", "str", nullable=True, description="the SQL to run (the reference's column name)")

    def __init__(self, db_root: str | None = None, db_url: str | None = None, timeout_s: float = 10.0,
                 max_rows: int = 10_000) -> None:
        super().__init__()
        self.init_database(db_root, db_url, timeout_s, max_rows)


@register_operator
class SQLExecutabilityFilter(SQLDatabaseOperator, Filter):
    """Keeps the rows whose SQL runs on their database; drops the others with the database's error.

    A dropped row's reason is the database's own message (``error: no such table: Ref_Company_Types``,
    ``error: cannot execute DELETE in a read-only transaction``) or ``timeout after 10s``. A write
    statement is refused by the read-only connection and so dropped; an empty result still passes (use
    :class:`SQLExecutionFilter` to require rows).
    """

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, list[Any]]:
        return {"results": self.execute_column(batch, ctx, "input_sql_key")}

    def keep(self, batch: pd.DataFrame, scores: dict[str, list[Any]], ctx: Any) -> Any:
        results = scores["results"]
        return np.array([r.ok for r in results], dtype=bool), [r.reason for r in results]


def _match(gold: Any, pred: Any, gold_sql: str, dialect: str, tolerance: float) -> bool | Reject:
    """Whether ``pred`` returns gold's result; a Reject when gold cannot be judged."""
    from dataflow.lib.sql import has_order_by, results_match

    if not gold.ok:
        return Reject(f"gold SQL fails: {gold.reason}")
    if gold.truncated or (pred.ok and pred.truncated):
        return Reject("result over max_rows rows: cannot be compared whole")
    return pred.ok and results_match(gold.rows, pred.rows, has_order_by(gold_sql, dialect), tolerance)


class GoldComparingOperator(SQLDatabaseOperator):
    """Shared by the operators that compare a row's SQL result with its gold SQL's (``float_tolerance``)."""

    def __init__(self, db_root: str | None = None, db_url: str | None = None, timeout_s: float = 10.0,
                 max_rows: int = 10_000, float_tolerance: float = 1e-9) -> None:
        super().__init__(db_root, db_url, timeout_s, max_rows)
        if float_tolerance < 0:
            raise ValueError("float_tolerance must be >= 0")
        self.float_tolerance = float_tolerance

    def matches(self, batch: pd.DataFrame, ctx: Any, preds: list[Any]) -> list[bool | Reject]:
        """For each row, whether its result (``preds``) is the gold SQL's; a Reject where gold cannot judge."""
        golds = self.execute_column(batch, ctx, "input_gold_sql_key")
        gold_sqls = batch[ctx.cols.input_gold_sql_key].tolist()
        return [_match(g, p, s if isinstance(s, str) else "", self.dialect, self.float_tolerance)
                for g, p, s in zip(golds, preds, gold_sqls)]


@register_operator
class SQLExecutionMatchEvaluator(GoldComparingOperator, Evaluator):
    """Whether each row's SQL returns the same result as its gold SQL on the row's database (true/false).

    Results are compared as Spider's test-suite evaluation does (:mod:`dataflow.lib.sql.compare`): rows
    as a multiset, in order only when the gold query has a top-level ``ORDER BY``; columns in any order,
    names ignored; numbers as numbers (``1 == 1.0``) within the relative ``float_tolerance``; NULL equals
    NULL. SQL that fails or times out is false. A row whose gold SQL fails, or whose result exceeds
    ``max_rows`` (so cannot be compared whole), goes to the rejects with the reason.
    """

    input_gold_sql_key = InputColumn("gold_sql", "str", nullable=True, description="the reference SQL")
    output_key = OutputColumn("execution_match", "bool", description="same result as the gold SQL")

    def evaluate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {ctx.cols.output_key: self.matches(batch, ctx, self.execute_column(batch, ctx, "input_sql_key"))}


@register_operator
class SQLExecutionFilter(GoldComparingOperator, Filter):
    """Keeps the rows whose SQL executes and returns rows; with ``input_gold_sql_key`` bound, those whose
    result is the gold SQL's instead.

    Without gold, an empty result is dropped (``empty result``): for synthesized SQL, a query that
    selects nothing teaches nothing and usually means a wrong literal. With gold, the comparison is
    :class:`SQLExecutionMatchEvaluator`'s and an empty result that matches an empty gold result is kept;
    a mismatch is dropped (``result differs from the gold SQL``), a failing gold SQL or an oversized
    result goes to the rejects. Failures are dropped with the database's error, as in
    :class:`SQLExecutabilityFilter`.
    """

    input_gold_sql_key = InputColumn(None, "str", nullable=True, description="optional reference SQL")

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, list[Any]]:
        preds = self.execute_column(batch, ctx, "input_sql_key")
        if not ctx.cols.get("input_gold_sql_key"):
            return {"results": preds, "verdicts": [r.ok and bool(r.rows) for r in preds]}
        return {"results": preds, "verdicts": self.matches(batch, ctx, preds)}

    def keep(self, batch: pd.DataFrame, scores: dict[str, list[Any]], ctx: Any) -> Any:
        gold = bool(ctx.cols.get("input_gold_sql_key"))
        reasons = [r.reason or ("result differs from the gold SQL" if gold else "empty result")
                   for r in scores["results"]]
        return np.array([v is True for v in scores["verdicts"]], dtype=bool), reasons
