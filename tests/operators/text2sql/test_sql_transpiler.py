"""SQLDialectTranspiler: SQLite to PostgreSQL (and others); what cannot be written is rejected."""

from __future__ import annotations

import pytest

pytest.importorskip("sqlglot")

from dataflow.operators.text2sql.sql_transpiler import SQLDialectTranspiler  # noqa: E402
from dataflow.testing import run_operator  # noqa: E402


def test_sqlite_to_postgres():
    rows = [{"SQL": 'SELECT substr(name, 1, 2) FROM singer WHERE country = "France" LIMIT 3'},
            {"SQL": "SELECT name FROM"}]
    result = run_operator(SQLDialectTranspiler(), rows)
    assert result.written == ["sql_postgres"]
    assert result.kept[0]["sql_postgres"] == (
        "SELECT SUBSTRING(name FROM 1 FOR 2) FROM singer WHERE country = 'France' LIMIT 3")
    assert result.reject_reasons[0].startswith("sql parse error:")


def test_other_dialects_and_unsupported():
    op = SQLDialectTranspiler(read="postgres", write="sqlite")
    rows = [{"q": "SELECT a FROM t INTERSECT ALL SELECT a FROM s"}, {"q": "SELECT a::TEXT FROM t"}]
    result = run_operator(op, rows, input_sql_key="q", output_sql_key="lite")
    assert result.kept == [{"q": "SELECT a::TEXT FROM t", "lite": "SELECT CAST(a AS TEXT) FROM t"}]
    assert result.reject_reasons == ["cannot transpile: unsupported in sqlite: INTERSECT ALL is not supported"]
    tsql = run_operator(SQLDialectTranspiler(write="tsql"), [{"SQL": "SELECT a FROM t LIMIT 5"}])
    assert tsql.kept[0]["sql_tsql"] == "SELECT TOP 5 a FROM t"
    with pytest.raises(ValueError):
        SQLDialectTranspiler(write="no-such-dialect")
