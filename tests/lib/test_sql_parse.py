"""dataflow.lib.sql_parse: Spider hardness by the official rules, templates, transpiling, parse errors, SQL
in model answers."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("sqlglot")

from dataflow.lib.sql_parse import (  # noqa: E402
    SQLParseError,
    extract_sql,
    parse_query,
    spider_counts,
    spider_hardness,
    sql_template,
    transpile,
)

SPIDER = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "text2sql" / "spider" / "train_spider.json"
JOIN = "FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id"

# (query, (component1, component2, others), level), worked out by hand from evaluation.py's rules and
# checked against the official parser and counters.
CASES = [
    ("SELECT count(*) FROM singer", (0, 0, 0), "easy"),
    ("SELECT name FROM singer WHERE age > 20", (1, 0, 0), "easy"),
    (f"SELECT T2.name {JOIN}", (1, 0, 0), "easy"),
    ("SELECT name, country FROM singer WHERE age > 20", (1, 0, 1), "medium"),
    (f"SELECT T2.name, count(*) {JOIN} GROUP BY T1.stadium_id", (2, 0, 1), "medium"),
    ("SELECT name FROM singer WHERE age > 20 OR country = 'France' ORDER BY age", (3, 0, 1), "hard"),
    ("SELECT name FROM singer WHERE singer_id NOT IN (SELECT singer_id FROM singer_in_concert)",
     (1, 1, 0), "hard"),
    ("SELECT name FROM singer UNION SELECT name FROM actor", (0, 1, 0), "hard"),
    (f"SELECT T2.name, count(*) {JOIN} GROUP BY T1.stadium_id ORDER BY count(*) DESC LIMIT 1",
     (4, 0, 2), "extra"),
    ("SELECT name FROM singer WHERE age > (SELECT avg(age) FROM singer) "
     "INTERSECT SELECT name FROM singer WHERE country = 'France'", (1, 2, 0), "extra"),
    ("SELECT name FROM singer WHERE name LIKE '%a%' AND country LIKE 'F%' AND age > 3",
     (3, 0, 1), "hard"),
]


@pytest.mark.parametrize("sql, counts, level", CASES)
def test_spider_counts_and_levels(sql, counts, level):
    tree = parse_query(sql)
    assert spider_counts(tree) == counts
    assert spider_hardness(tree) == level


def test_official_aggregate_quirks():
    # HAVING's own aggregate is not counted, its AND is; NOT conditions in WHERE count as aggregates.
    assert spider_counts(parse_query("SELECT count(*) FROM t GROUP BY a HAVING count(*) > 1")) == (1, 0, 0)
    assert spider_counts(parse_query(
        "SELECT count(*) FROM t GROUP BY a HAVING count(*) > 1 AND sum(b) < 3")) == (1, 0, 1)
    assert spider_counts(parse_query("SELECT max(a) FROM t WHERE b NOT LIKE 'x%'")) == (2, 0, 1)
    # IS NOT NULL (Spider's parser cannot read it) is not a negated condition; ORDER BY counts both
    # operands.
    assert spider_counts(parse_query("SELECT max(a) FROM t WHERE b IS NOT NULL")) == (1, 0, 0)
    assert spider_counts(parse_query("SELECT a FROM t ORDER BY sum(b) - sum(c)")) == (1, 0, 1)


def test_only_the_main_query_is_counted():
    # The subquery's WHERE/GROUP BY and the right side of the UNION add nothing but one nested query each;
    # a subquery in FROM is a table, not a nested query.
    sql = ("SELECT a FROM t WHERE b IN (SELECT b FROM s WHERE c > 1 GROUP BY b) "
           "UNION SELECT a FROM u WHERE x = 1 ORDER BY a LIMIT 3")
    assert spider_counts(parse_query(sql)) == (1, 2, 0)
    assert spider_counts(parse_query("SELECT a FROM (SELECT a FROM t WHERE b = 1 ORDER BY a)")) == (0, 0, 0)
    # A nested set operation is one nested query, not one per SELECT in it.
    assert spider_counts(parse_query("SELECT a FROM t WHERE a IN (SELECT a FROM s UNION SELECT a FROM u)")
                         ) == (1, 1, 0)


@pytest.mark.skipif(not SPIDER.exists(), reason="Spider fixture not present")
def test_spider_train_distribution():
    rows = json.loads(SPIDER.read_text())
    levels = Counter(spider_hardness(parse_query(r["query"])) for r in rows)  # all 7,000 parse
    assert sum(levels.values()) == 7000
    share = {k: v / 7000 for k, v in levels.items()}
    # Spider dev under the official script: easy 24%, medium 43%, hard 17%, extra 16%.
    assert 0.15 < share["easy"] < 0.35 and 0.30 < share["medium"] < 0.50
    assert 0.10 < share["hard"] < 0.30 and 0.08 < share["extra"] < 0.25


def test_sqlite_double_quoted_values_are_strings():
    sql = 'SELECT "Name" FROM t WHERE "Status" != "Village" AND c IN ("p", "q") AND T1.d = "x"'
    assert transpile(sql) == (
        """SELECT "Name" FROM t WHERE "Status" <> 'Village' AND c IN ('p', 'q') AND T1.d = 'x'""")
    kept = parse_query(sql, sqlite_quoted_strings=False).sql(dialect="postgres")
    assert '"Village"' in kept


def test_parse_errors_are_one_line():
    with pytest.raises(SQLParseError, match=r"line 1, col 24"):
        parse_query("SELECT a FROM t WHERE (a")
    for bad, why in [("", "empty"), ("SELECT 1; SELECT 2", "one statement"), ("hello world", "not a query"),
                     ("DROP TABLE t", "not a query")]:
        with pytest.raises(SQLParseError, match=why) as info:
            parse_query(bad)
        assert "\x1b" not in str(info.value) and "\n" not in str(info.value)
    assert parse_query("SELECT 1;").sql() == "SELECT 1"
    assert parse_query("DROP TABLE t", require_query=False).sql() == "DROP TABLE t"


def test_templates_mask_literals_and_normalise_names():
    def template(sql, **kw):
        return sql_template(parse_query(sql), **kw)

    a = template("SELECT name FROM singer WHERE age > 30 AND country = 'France' LIMIT 3")
    assert a == "SELECT name FROM singer WHERE age > ? AND country = ? LIMIT ?"
    assert template('select  "Name" from Singer where AGE > 41 and Country = "Spain" limit 10') == a
    assert template("SELECT name FROM singer WHERE age < 30 AND country = 'France' LIMIT 3") != a
    assert template('SELECT "Name" FROM singer', normalize_identifiers=False) != template(
        "SELECT name FROM singer", normalize_identifiers=False)
    aliased = "SELECT T1.name AS n FROM singer AS T1 WHERE T1.age > 3"
    assert template(aliased) != template("SELECT singer.name FROM singer WHERE singer.age > 7")
    assert template(aliased, strip_aliases=True) == template(
        "SELECT singer.name FROM singer WHERE singer.age > 7", strip_aliases=True)
    assert template("SELECT a FROM t WHERE b IS NULL") == "SELECT a FROM t WHERE b IS NULL"


def test_transpile_between_dialects():
    assert transpile("SELECT substr(name, 1, 2) FROM t LIMIT 1", "sqlite", "postgres") == \
        "SELECT SUBSTRING(name FROM 1 FOR 2) FROM t LIMIT 1"
    assert transpile("SELECT group_concat(name, ', ') FROM t") == "SELECT STRING_AGG(name, ', ') FROM t"
    assert transpile("SELECT a FROM t LIMIT 5", "sqlite", "tsql") == "SELECT TOP 5 a FROM t"
    with pytest.raises(ValueError, match="unsupported in sqlite: INTERSECT ALL"):
        transpile("SELECT a FROM t INTERSECT ALL SELECT a FROM s", "postgres", "sqlite")
    with pytest.raises(SQLParseError):
        transpile("SELECT a FROM WHERE")


FENCE = "```"


def test_extract_sql_takes_the_last_sql_block():
    draft_then_final = (f"First try:\n{FENCE}sql\nSELECT name FROM singer;\n{FENCE}\nThat misses the filter, so:\n"
                        f"{FENCE}SQL\nSELECT name\nFROM singer\nWHERE age > 20;;\n{FENCE}\nDone.")
    assert extract_sql(draft_then_final) == "SELECT name\nFROM singer\nWHERE age > 20"
    # A dialect tag counts as sql, and a one-line block too.
    assert extract_sql(f"{FENCE}sqlite\nSELECT 1\n{FENCE}") == "SELECT 1"
    assert extract_sql(f"answer: {FENCE}sql SELECT 2 {FENCE}") == "SELECT 2"
    # A tagged block wins over a later untagged one; an untagged block counts only when it is a query.
    assert extract_sql(f"{FENCE}sql\nSELECT 3\n{FENCE} then {FENCE}\nSELECT 4\n{FENCE}") == "SELECT 3"
    assert extract_sql(f"{FENCE}\n-- the final query\nWITH t AS (SELECT 1) SELECT * FROM t\n{FENCE}") == \
        "-- the final query\nWITH t AS (SELECT 1) SELECT * FROM t"
    assert extract_sql(f"{FENCE}\nx = 1\n{FENCE}") is None
    # An empty final block does not erase an earlier query.
    assert extract_sql(f"{FENCE}sql\nSELECT 5\n{FENCE}\n{FENCE}sql\n\n{FENCE}") == "SELECT 5"


def test_extract_sql_finds_nothing_without_a_closed_block():
    for text in (None, "", "SELECT name FROM singer", f"{FENCE}python\nprint(1)\n{FENCE}",
                 f"{FENCE}sql\nSELECT name FROM singer WHERE age >", f"{FENCE}sql\n  ;\n{FENCE}"):
        assert extract_sql(text) is None, text
