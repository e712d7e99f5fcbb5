"""SQLite databases and SQLite queries carried over to PostgreSQL, with SQLite's meaning kept.

Text-to-SQL data is mostly written against SQLite (Spider, BIRD). Two things move it to PostgreSQL:

* :func:`copy_sqlite_to_postgres` copies a SQLite file into a new PostgreSQL database: tables and rows,
  names lower-cased (PostgreSQL folds unquoted names), a PostgreSQL type per column from its declared
  affinity *and* its values (:func:`postgres_type`: ``'abc'`` stored in an INT column makes it text),
  primary keys where the data satisfies them, no foreign keys (SQLite does not enforce them, so the data
  may break them).
* :func:`sqlite_to_postgres` transpiles a query (sqlglot) and carries over the SQLite semantics that
  gold queries rely on, each a documented SQLite behaviour, using the column kinds of
  :func:`column_kinds` (the types the copy creates):

  - ``"text"`` that names no column is a string (SQLite's fallback for double-quoted strings);
  - ``LIKE`` is case-insensitive for ASCII -> ``ILIKE``;
  - a text column compared with a number is read as a number (type affinity) -> a cast to double; a
    number compared with a string that is not a number is never equal to it -> the number cast to text;
  - ``AVG``/``SUM`` of a text column reads it as numbers -> a cast;
  - a subquery in ``FROM`` needs no alias in SQLite -> one is given;
  - a bare column in an aggregate query takes a value of its group (SQLite picks a row) -> ``MIN()``,
    exact whenever the column is determined by the group, which is how gold queries use it.

On 20 Spider-train databases this makes 96.2% of the runnable gold queries return on PostgreSQL what
they return on SQLite (``tests/lib/sql/test_postgres_vs_sqlite.py`` prints the rest by cause: ties under
``ORDER BY ... LIMIT`` and division of integers, mostly).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

#: {table: {column: "number" | "text"}}, names lower-cased.
ColumnKinds = dict[str, dict[str, str]]

_COMPARISONS = ("EQ", "NEQ", "GT", "GTE", "LT", "LTE")
_INTEGRAL = re.compile(r"-?(0|[1-9][0-9]{0,17})")


def _integral(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and _INTEGRAL.fullmatch(value) is not None)


def postgres_type(declared: str, values: list[Any]) -> str:
    """The PostgreSQL type for a SQLite column: its declared affinity when every stored value fits it,
    else ``text`` (SQLite keeps whatever is stored: ``'abc'`` in an INT column; ``'6'`` there is 6)."""
    declared = declared.lower()
    present = [v for v in values if v is not None]
    if "int" in declared and all(_integral(v) for v in present):
        return "bigint"
    if any(w in declared for w in ("real", "floa", "doub", "num", "dec")) and all(
            isinstance(v, (int, float)) for v in present):
        return "double precision"
    if any(w in declared for w in ("blob", "binary")) and all(isinstance(v, bytes) for v in present):
        return "bytea"
    if not declared and present and all(isinstance(v, int) for v in present):
        return "bigint"
    return "text"


def _open(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.text_factory = lambda b: b.decode("utf-8", errors="replace")
    return conn


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]


def _column_types(conn: sqlite3.Connection, table: str) -> tuple[list[tuple], list[str]]:
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()  # cid, name, type, notnull, dflt, pk
    types = [postgres_type(col[2] or "", [r[0] for r in conn.execute(f'SELECT "{col[1]}" FROM "{table}"')])
             for col in info]
    return info, types


def column_kinds(sqlite_path: str | Path) -> ColumnKinds:
    """{table: {column: "number" | "text"}} (lower-cased) as :func:`copy_sqlite_to_postgres` types them."""
    conn = _open(sqlite_path)
    try:
        kinds: ColumnKinds = {}
        for table in _tables(conn):
            info, types = _column_types(conn, table)
            kinds[table.lower()] = {col[1].lower(): "text" if t in ("text", "bytea") else "number"
                                    for col, t in zip(info, types)}
        return kinds
    finally:
        conn.close()


def copy_sqlite_to_postgres(sqlite_path: str | Path, url: str, dbname: str) -> None:
    """Copy a SQLite database into a new PostgreSQL database ``dbname`` on the server at ``url`` (an
    existing database of that name is dropped first). See the module docstring for what is copied."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        admin.execute(f'CREATE DATABASE "{dbname}"')
    src = _open(sqlite_path)
    try:
        with psycopg.connect(url, dbname=dbname) as dst:
            for table in _tables(src):
                info, types = _column_types(src, table)
                names = [f'"{col[1].lower()}"' for col in info]
                dst.execute(f'CREATE TABLE "{table.lower()}" ({", ".join(f"{n} {t}" for n, t in zip(names, types))})')
                rows = [tuple(_cell(v, t) for v, t in zip(r, types)) for r in src.execute(f'SELECT * FROM "{table}"')]
                if rows:
                    with dst.cursor() as cur:
                        cur.executemany(f'INSERT INTO "{table.lower()}" VALUES ({", ".join(["%s"] * len(names))})',
                                        rows)
                key = [f'"{col[1].lower()}"' for col in sorted((c for c in info if c[5]), key=lambda c: c[5])]
                if key:  # when the data allows it: PostgreSQL then accepts other columns of a GROUP BY on the key
                    try:
                        with dst.transaction():
                            dst.execute(f'ALTER TABLE "{table.lower()}" ADD PRIMARY KEY ({", ".join(key)})')
                    except psycopg.Error:
                        pass
    finally:
        src.close()


def _cell(value: Any, pg_type: str) -> Any:
    if value is None:
        return None
    if pg_type == "text" and not isinstance(value, str):
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return int(value) if pg_type == "bigint" else value


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def sqlite_to_postgres(sql: str, kinds: ColumnKinds | None = None, *, pretty: bool = False) -> str:
    """A SQLite query as PostgreSQL with the same meaning (see the module docstring). Without ``kinds``
    the rewrites that need column types are left out, and a double-quoted name is taken for a string
    only on the value side of a comparison. Raises :class:`~dataflow.lib.sql_parse.SQLParseError` when
    the query does not parse, ``ValueError`` when PostgreSQL cannot express it."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel

    from dataflow.lib.sql_parse import error_message, parse_query

    tree = parse_query(sql, "sqlite", sqlite_quoted_strings=not kinds)
    kinds = kinds or {}
    aliases = {(t.alias or t.name).lower(): t.name.lower() for t in tree.find_all(exp.Table)}
    known = {c for cols in kinds.values() for c in cols}

    def kind(node: exp.Expression) -> str | None:
        if isinstance(node, exp.Literal):
            return "text" if node.is_string else "number"
        if isinstance(node, exp.Column):
            tables = [aliases.get(node.table.lower(), node.table.lower())] if node.table else list(aliases.values())
            found = {kinds.get(t, {}).get(node.name.lower()) for t in tables} - {None}
            return found.pop() if len(found) == 1 else None
        return None

    for col in list(tree.find_all(exp.Column)) if kinds else ():
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
    for agg in list(tree.find_all(exp.Avg, exp.Sum)):
        if kind(agg.this) == "text" and isinstance(agg.this, exp.Column):
            agg.this.replace(exp.cast(agg.this.copy(), "double precision"))
    for n, sub in enumerate(s for s in tree.find_all(exp.Subquery) if isinstance(s.parent, (exp.From, exp.Join))):
        if not sub.alias:
            sub.set("alias", exp.TableAlias(this=exp.to_identifier(f"_sub{n + 1}")))
    for select in list(tree.find_all(exp.Select)):
        group = select.args.get("group")
        if group:
            grouped = {g.sql().lower() for g in group.expressions}
            for e in select.expressions:
                inner = e.this if isinstance(e, exp.Alias) else e
                if isinstance(inner, exp.Column) and inner.sql().lower() not in grouped:
                    inner.replace(exp.Min(this=inner.copy()))
    try:
        return tree.sql(dialect="postgres", pretty=pretty, unsupported_level=ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as exc:
        raise ValueError(f"unsupported in postgres: {error_message(exc)}") from None
