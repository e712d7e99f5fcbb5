"""A database's schema as data (tables, columns, types, keys, a few sample values) and as text for prompts.

:meth:`Schema.render` writes ``CREATE TABLE`` statements with the primary key, the foreign keys and, as a
comment after each column, up to a few distinct sample values, the form text-to-SQL prompts use::

    CREATE TABLE "singer" (
      "Singer_ID" int, -- e.g. 1, 2, 3
      "Name" text, -- e.g. 'Joe Sharp', 'Timbaland'
      PRIMARY KEY ("Singer_ID"),
      FOREIGN KEY ("Country_ID") REFERENCES "country" ("ID")
    );
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_SAMPLE_CHARS = 40


@dataclass(frozen=True)
class Column:
    name: str
    type: str = ""
    samples: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sample(value: Any) -> str:
    if isinstance(value, str):
        text = value if len(value) <= _SAMPLE_CHARS else value[:_SAMPLE_CHARS] + "..."
        return "'" + text.replace("'", "''").replace("\n", " ") + "'"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "<blob>"
    return str(value)


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...] = field(default_factory=tuple)

    def table(self, name: str) -> Table | None:
        """A table by name, case-insensitively (SQL identifiers mostly are)."""
        return next((t for t in self.tables if t.name.lower() == name.lower()), None)

    def render(self, samples: bool = True) -> str:
        """``CREATE TABLE`` statements, one per table, with sample values as comments."""
        blocks = []
        for table in self.tables:
            lines = []
            for column in table.columns:
                line = f"  {_quote(column.name)} {column.type or ''}".rstrip()
                note = f" -- e.g. {', '.join(_sample(v) for v in column.samples)}" if samples and column.samples else ""
                lines.append((line, note))
            keys = []
            if table.primary_key:
                keys.append(f"  PRIMARY KEY ({', '.join(map(_quote, table.primary_key))})")
            for fk in table.foreign_keys:
                keys.append(f"  FOREIGN KEY ({', '.join(map(_quote, fk.columns))}) REFERENCES "
                            f"{_quote(fk.ref_table)} ({', '.join(map(_quote, fk.ref_columns))})")
            body = [line + ("," if i < len(lines) - 1 or keys else "") + note for i, (line, note) in enumerate(lines)]
            body += [k + ("," if i < len(keys) - 1 else "") for i, k in enumerate(keys)]
            blocks.append(f"CREATE TABLE {_quote(table.name)} (\n" + "\n".join(body) + "\n);")
        return "\n\n".join(blocks)


def sqlite_schema(conn: Any, samples: int = 3) -> Schema:
    """Introspect an open ``sqlite3`` connection (``PRAGMA table_info`` / ``foreign_key_list``)."""
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
    tables = []
    for name in names:
        info = conn.execute(f"PRAGMA table_info({_quote(name)})").fetchall()  # cid, name, type, notnull, dflt, pk
        pk = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        fks: dict[int, list] = {}
        for row in conn.execute(f"PRAGMA foreign_key_list({_quote(name)})"):  # id, seq, table, from, to, ...
            fks.setdefault(row[0], []).append(row)
        foreign = tuple(ForeignKey(tuple(r[3] for r in rows), rows[0][2], tuple(r[4] or r[3] for r in rows))
                        for _, rows in sorted(fks.items()))
        columns = tuple(Column(r[1], r[2] or "", _samples(conn, name, r[1], samples)) for r in info)
        tables.append(Table(name, columns, pk, foreign))
    return Schema(tuple(tables))


def _samples(conn: Any, table: str, column: str, limit: int) -> tuple[Any, ...]:
    if limit <= 0:
        return ()
    try:
        rows = conn.execute(f"SELECT DISTINCT {_quote(column)} FROM {_quote(table)} "
                            f"WHERE {_quote(column)} IS NOT NULL LIMIT {int(limit)}").fetchall()
    except Exception:  # noqa: BLE001 - a table the engine cannot read still shows its columns
        return ()
    return tuple(r[0] for r in rows)


_PG_COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
ORDER BY c.table_name, c.ordinal_position"""
_PG_KEYS = """
SELECT con.contype, cl.relname, con.conkey, ref.relname, con.confkey, con.conrelid, con.confrelid
FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid
LEFT JOIN pg_class ref ON ref.oid = con.confrelid
WHERE con.contype IN ('p', 'f') AND cl.relnamespace = current_schema()::regnamespace"""


def postgres_schema(conn: Any, samples: int = 3) -> Schema:
    """Introspect the current schema of an open ``psycopg`` connection."""
    with conn.cursor() as cur:
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, dtype in cur.execute(_PG_COLUMNS).fetchall():
            columns.setdefault(table, []).append((column, dtype))
        attnames: dict[tuple[int, int], str] = {
            (rel, num): name for rel, num, name in cur.execute(
                "SELECT attrelid::bigint, attnum, attname FROM pg_attribute WHERE attnum > 0").fetchall()}
        pks: dict[str, tuple[str, ...]] = {}
        fks: dict[str, list[ForeignKey]] = {}
        for kind, table, conkey, ref, confkey, relid, refid in cur.execute(_PG_KEYS).fetchall():
            own = tuple(attnames[(int(relid), k)] for k in conkey)
            if kind == "p":
                pks[table] = own
            else:
                fks.setdefault(table, []).append(
                    ForeignKey(own, ref, tuple(attnames[(int(refid), k)] for k in confkey)))
        tables = []
        for table, cols in columns.items():
            made = []
            for name, dtype in cols:
                values: tuple[Any, ...] = ()
                if samples > 0:
                    cur.execute(f"SELECT DISTINCT {_quote(name)} FROM {_quote(table)} "
                                f"WHERE {_quote(name)} IS NOT NULL LIMIT {int(samples)}")
                    values = tuple(r[0] for r in cur.fetchall())
                made.append(Column(name, dtype, values))
            tables.append(Table(table, tuple(made), pks.get(table, ()), tuple(fks.get(table, ()))))
    return Schema(tuple(tables))
