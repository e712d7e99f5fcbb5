"""SQLComponentClassifier: Spider hardness per row; unparseable SQL is rejected with the parser's error."""

from __future__ import annotations

import pytest

pytest.importorskip("sqlglot")

from dataflow.operators.text2sql.sql_component_classifier import SQLComponentClassifier  # noqa: E402
from dataflow.testing import run_operator  # noqa: E402


def test_levels_and_rejects():
    rows = [
        {"SQL": "SELECT count(*) FROM singer"},
        {"SQL": "SELECT name, country FROM singer WHERE age > 20"},
        {"SQL": "SELECT name FROM singer WHERE singer_id NOT IN (SELECT singer_id FROM singer_in_concert)"},
        {"SQL": "SELECT T2.name, count(*) FROM concert AS T1 JOIN stadium AS T2 ON T1.id = T2.id "
                "GROUP BY T1.id ORDER BY count(*) DESC LIMIT 1"},
        {"SQL": "SELECT name FROM WHERE age > 3"},
        {"SQL": None},
    ]
    result = run_operator(SQLComponentClassifier(), rows)
    assert [r["sql_component_difficulty"] for r in result.kept] == ["easy", "medium", "hard", "extra"]
    assert result.written == ["sql_component_difficulty"]
    reasons = result.reject_reasons
    assert reasons[0] == "sql parse error: Expected table name but got 'WHERE' (line 1, col 22, near 'WHERE')"
    assert reasons[1] == "sql parse error: empty SQL"
    assert not result.errors


def test_bindings_and_dialect():
    result = run_operator(SQLComponentClassifier(dialect="tsql"), [{"q": "SELECT TOP 3 name FROM singer"}],
                          input_sql_key="q", output_difficulty_key="level")
    assert result.kept == [{"q": "SELECT TOP 3 name FROM singer", "level": "easy"}]
