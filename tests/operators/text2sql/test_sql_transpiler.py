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


def test_sqlite_semantics_are_carried_over_with_the_database(tmp_path):
    import sqlite3

    db = tmp_path / "shop"
    db.mkdir()
    conn = sqlite3.connect(db / "shop.sqlite")
    conn.executescript("CREATE TABLE item (id INTEGER, name TEXT, price TEXT, kind TEXT);"
                       "INSERT INTO item VALUES (1, 'Pen', '2.5', 'office'), (2, 'Cup', '7', 'kitchen');")
    conn.close()
    rows = [{"SQL": "SELECT name FROM item WHERE price > 5 AND name LIKE 'c%'", "db_id": "shop"},
            {"SQL": 'SELECT kind, name, count(*) FROM item WHERE kind = "office" GROUP BY kind', "db_id": "shop"},
            {"SQL": "SELECT 1", "db_id": "nowhere"}]
    result = run_operator(SQLDialectTranspiler(db_root=str(tmp_path)), rows, input_db_id_key="db_id")
    # price is text in SQLite and compared with a number: read as a number; LIKE ignores case
    assert result.kept[0]["sql_postgres"] == (
        "SELECT name FROM item WHERE CAST(price AS DOUBLE PRECISION) > 5 AND name ILIKE 'c%'")
    # "office" names no column: a string; name is not grouped: one value of the group
    assert result.kept[1]["sql_postgres"] == (
        "SELECT kind, MIN(name), COUNT(*) FROM item WHERE kind = 'office' GROUP BY kind")
    assert result.reject_reasons == ["no database 'nowhere' under " + str(tmp_path)]
