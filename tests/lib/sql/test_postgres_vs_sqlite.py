"""Spider-train databases copied into a real PostgreSQL: their gold queries, transpiled with sqlglot, return
what they return on SQLite (>= 95%); the rest are printed by cause.

Gold SQL is written for SQLite, so the transpile step (:func:`sqlite_to_postgres`) also carries over the
SQLite semantics the queries rely on, each a documented SQLite behaviour, using the schema's column types:

* ``"text"`` that names no column is a string (SQLite's fallback for double-quoted strings);
* ``LIKE`` is case-insensitive (SQLite's default for ASCII) -> ``ILIKE``;
* a text column compared with a number is read as a number (SQLite's type affinity) -> a cast; a number
  compared with a string that is not a number is never equal to it -> the number cast to text;
* a bare column in an aggregate query takes a value of its group (SQLite picks a row) -> ``MIN()``,
  exact whenever the column is determined by the group, as in the gold queries that use it.
"""

from __future__ import annotations

import collections
import json
import sqlite3
import time
from pathlib import Path

import pytest

from dataflow.lib.sql import DatabaseSet, has_order_by, results_match

SPIDER = Path("/work/shared/fixtures/text2sql/spider")
DATABASES = 20
pytestmark = pytest.mark.skipif(not SPIDER.exists(), reason="Spider fixtures not present")

_NUMERIC = ("int", "real", "floa", "doub", "num", "dec")
_COMPARISONS = ("EQ", "NEQ", "GT", "GTE", "LT", "LTE")


def chosen_databases() -> list[str]:
    """Every 6th of the databases under 300 KB (sorted by name; music_2 has no rows): 20 of them."""
    root = SPIDER / "database"
    names = sorted(p.name for p in root.iterdir() if p.name != "music_2"
                   and (p / f"{p.name}.sqlite").stat().st_size < 300_000)
    return names[::max(1, len(names) // DATABASES)][:DATABASES]


def column_types(path: Path) -> dict[str, dict[str, str]]:
    """{table: {column: "number" | "text"}}, lowercased, from the PostgreSQL types the loader picks."""
    from tests.lib.sql.postgres import _pg_type

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.text_factory = lambda b: b.decode("utf-8", errors="replace")
    types: dict[str, dict[str, str]] = {}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"):
        info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        for col in info:
            values = [r[0] for r in conn.execute(f'SELECT "{col[1]}" FROM "{table}"')]
            pg = _pg_type(col[2] or "", values)
            types.setdefault(table.lower(), {})[col[1].lower()] = "text" if pg == "text" else "number"
    conn.close()
    return types


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def sqlite_to_postgres(sql: str, types: dict[str, dict[str, str]]) -> str:
    """Gold SQL for SQLite as PostgreSQL with the same meaning (see the module docstring)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="sqlite")
    aliases = {}
    for table in tree.find_all(exp.Table):
        aliases[(table.alias or table.name).lower()] = table.name.lower()
    known = {c for cols in types.values() for c in cols}

    def kind(node: exp.Expression) -> str | None:
        if isinstance(node, exp.Literal):
            return "text" if node.is_string else "number"
        if isinstance(node, exp.Column):
            tables = [aliases.get(node.table.lower(), node.table.lower())] if node.table else list(aliases.values())
            found = {types.get(t, {}).get(node.name.lower()) for t in tables} - {None}
            return found.pop() if len(found) == 1 else None
        return None

    for col in list(tree.find_all(exp.Column)):
        if col.this.args.get("quoted") and not col.table and col.name.lower() not in known:
            col.replace(exp.Literal.string(col.name))
    for like in list(tree.find_all(exp.Like)):
        like.replace(exp.ILike(**{k: v.copy() if isinstance(v, exp.Expression) else v for k, v in like.args.items()}))
    for node in list(tree.find_all(*(getattr(exp, c) for c in _COMPARISONS))):
        for text, number in ((node.this, node.expression), (node.expression, node.this)):
            if (kind(text), kind(number)) != ("text", "number"):
                continue
            if isinstance(text, exp.Column):
                text.replace(exp.cast(text.copy(), "double precision"))
            elif isinstance(text, exp.Literal) and not _numeric(text.this) and isinstance(number, exp.Column):
                number.replace(exp.cast(number.copy(), "text"))  # 'null' vs a number: text, never equal
            break
    for select in list(tree.find_all(exp.Select)):
        group = select.args.get("group")
        if group:
            grouped = {g.sql().lower() for g in group.expressions}
            for e in select.expressions:
                inner = e.this if isinstance(e, exp.Alias) else e
                if isinstance(inner, exp.Column) and inner.sql().lower() not in grouped:
                    inner.replace(exp.Min(this=inner.copy()))
    return tree.sql(dialect="postgres")


def test_gold_queries_on_postgres_match_sqlite(postgres_url, capsys):
    from tests.lib.sql.postgres import load_sqlite

    start = time.monotonic()
    names = chosen_databases()
    types = {}
    for name in names:
        path = SPIDER / "database" / name / f"{name}.sqlite"
        load_sqlite(postgres_url, path, name)
        types[name] = column_types(path)
    lite = DatabaseSet(db_root=str(SPIDER / "database"))
    pg = DatabaseSet(db_url=postgres_url)
    causes: collections.Counter = collections.Counter()
    examples: dict[str, str] = {}
    compared = 0
    for row in json.loads((SPIDER / "train_spider.json").read_text()):
        if row["db_id"] not in types:
            continue
        gold = lite.execute(row["db_id"], row["query"])
        if not gold.ok:
            continue
        compared += 1
        try:
            sql = sqlite_to_postgres(row["query"], types[row["db_id"]])
        except Exception as exc:  # noqa: BLE001 - a sqlglot failure is a cause like any other
            causes[f"transpile: {type(exc).__name__}"] += 1
            continue
        result = pg.execute(row["db_id"], sql)
        if not result.ok:
            cause = f"postgres error: {result.error.split(':')[0][:60]}"
        elif results_match(gold.rows, result.rows, has_order_by(row["query"]), float_tolerance=1e-6):
            causes["same"] += 1
            continue
        elif has_order_by(row["query"]) and "limit" in row["query"].lower():
            cause = "different result: ties under ORDER BY ... LIMIT"
        elif has_order_by(row["query"]) and results_match(gold.rows, result.rows, float_tolerance=1e-6):
            cause = "same rows, ties in another order under ORDER BY"
        else:
            cause = "different result"
        causes[cause] += 1
        examples.setdefault(cause, f"{row['query']}  ->  {sql}")
    lite.close()
    pg.close()
    same = causes.pop("same", 0)
    with capsys.disabled():
        print(f"\n{len(names)} Spider databases in PostgreSQL, {compared} runnable gold queries: {same} same "
              f"({same / compared:.1%}), {time.monotonic() - start:.1f}s")
        print(f"{'count':>5}  cause  (first example)")
        for cause, count in causes.most_common():
            print(f"{count:>5}  {cause}  ({examples[cause][:150]})")
    assert compared > 900
    assert same / compared >= 0.95
