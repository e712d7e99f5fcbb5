"""SQLParseFilter: drops what does not parse in the dialect, with the parser's message; formats the rest."""

from __future__ import annotations

import pytest

pytest.importorskip("sqlglot")

from dataflow.operators.text2sql.sql_parse_filter import SQLParseFilter  # noqa: E402
from dataflow.testing import run_operator  # noqa: E402

ROWS = [{"SQL": "select name from singer where age>3"}, {"SQL": "SELECT name FROM singer WHERE (age > 3"},
        {"SQL": "DROP TABLE singer"}, {"SQL": "SELECT 1; SELECT 2"}, {"SQL": ""}]


def test_drops_with_reasons_and_formats():
    result = run_operator(SQLParseFilter(), ROWS, output_key="sql_canonical")
    assert result.kept == [{"SQL": "select name from singer where age>3",
                            "sql_canonical": "SELECT name FROM singer WHERE age > 3"}]
    reasons = result.drop_reasons
    assert reasons[0].startswith("sql parse error: Expecting )") and "line 1" in reasons[0]
    assert reasons[1:] == ["sql parse error: not a query: DROP statement",
                           "sql parse error: expected one statement, found 2", "sql parse error: empty SQL"]


def test_statements_allowed_and_dialect_matters():
    result = run_operator(SQLParseFilter(require_query=False), ROWS)
    assert result.kept_ids == ["1", "3"] and result.written == []
    rows = [{"SQL": "SELECT TOP 3 name FROM singer"}]
    assert run_operator(SQLParseFilter(dialect="tsql"), rows).kept_ids == ["1"]
    assert run_operator(SQLParseFilter(dialect="postgres"), rows).kept_ids == []
