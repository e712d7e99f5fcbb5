"""Databases that run untrusted SQL safely: read-only, under a time limit that really stops a query, row-capped.

Two engines behind one interface, :class:`Database` (``execute(sql) -> ExecResult``, ``schema()``):

* :class:`SQLiteDatabase`, one file. Opened with a ``mode=ro`` URI, ``PRAGMA query_only``, and an
  authorizer that refuses ``ATTACH``, ``DETACH``, ``PRAGMA`` and every write (so ``ATTACH 'x.db'``
  cannot create a file and no pragma can lift ``query_only``). The time limit is a progress handler that
  aborts the statement at the deadline, while it runs and while its rows are fetched.
* :class:`PostgresDatabase`, a server by URL. Each query runs in its own transaction with
  ``SET TRANSACTION READ ONLY`` and ``statement_timeout``, and is rolled back; statements are sent one
  at a time through a prepared statement, so ``COMMIT; DROP TABLE t`` is refused instead of ending the
  read-only transaction. The whole result is transferred before the row cap applies (the time limit
  bounds it). ``psycopg`` (v3) is imported on first use.

:class:`DatabaseSet` finds a database by id: a directory in Spider's layout (``<root>/<db_id>/<db_id>.sqlite``),
a directory of ``<db_id>.sqlite`` / ``.db`` files, a single SQLite file (any id names it), a SQL script
(``<db_id>.sql``: ``CREATE TABLE`` and ``INSERT`` statements, loaded into an in-memory SQLite database
when first used, then read-only like a file; a way to keep a small database as text), or a
PostgreSQL URL where the id names the database on that server (empty: the URL's own).

No method raises on a bad query: the database's error text comes back in :class:`ExecResult`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dataflow.lib.sql.schema import Schema

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_ROWS = 10_000


@dataclass(frozen=True)
class ExecResult:
    """The outcome of one query. ``ok`` False: ``error`` holds the database's message (``timed_out`` when
    the time limit stopped it). ``truncated``: more rows existed than the cap; ``rows`` holds the first ones."""

    ok: bool
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    error: str = ""
    timed_out: bool = False
    truncated: bool = False
    seconds: float = 0.0

    @property
    def reason(self) -> str:
        """A one-line reason for a drop: ``timeout after 2s`` or ``error: no such table: x``."""
        return "" if self.ok else (self.error if self.timed_out else f"error: {self.error}")


class Database:
    """A database that runs queries read-only. Subclasses implement ``execute`` and ``schema``."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        if timeout_s <= 0 or max_rows <= 0:
            raise ValueError("timeout_s and max_rows must be positive")
        self.timeout_s = float(timeout_s)
        self.max_rows = int(max_rows)

    def execute(self, sql: str) -> ExecResult:
        raise NotImplementedError

    def schema(self, samples: int = 3) -> Schema:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ----------------------------------------------------------------------------------------------- SQLite
_ALLOWED = {getattr(sqlite3, name) for name in (
    "SQLITE_SELECT", "SQLITE_READ", "SQLITE_FUNCTION", "SQLITE_RECURSIVE") if hasattr(sqlite3, name)}


def _read_only_authorizer(action: int, *_: Any) -> int:
    return sqlite3.SQLITE_OK if action in _ALLOWED else sqlite3.SQLITE_DENY


class SQLiteDatabase(Database):
    """One SQLite file (or SQL script, built in memory), read-only. One connection, used by one thread at a
    time (a lock)."""

    engine = "sqlite"

    def __init__(self, path: str | Path, timeout_s: float = DEFAULT_TIMEOUT_S,
                 max_rows: int = DEFAULT_MAX_ROWS) -> None:
        super().__init__(timeout_s, max_rows)
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no SQLite database at {self.path}")
        if self.path.suffix.lower() == ".sql":  # a SQL script (schema and rows): built in memory once
            self._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            try:
                self._conn.executescript(self.path.read_text(encoding="utf-8"))
            except sqlite3.Error as exc:
                self._conn.close()
                raise ValueError(f"{self.path}: the SQL script fails: {exc}") from None
        else:
            uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA query_only = ON")
        self._conn.text_factory = lambda b: b.decode("utf-8", errors="replace")  # Spider has latin-1 bytes
        self._lock = threading.Lock()

    def _run(self, sql: str, params: tuple = (), *, limit: int, deadline: float) -> tuple[list[str], list, bool]:
        def over_time() -> int:
            return 1 if time.monotonic() > deadline else 0

        self._conn.set_progress_handler(over_time, 1000)
        try:
            cur = self._conn.execute(sql, params)
            rows = cur.fetchmany(limit + 1)
            columns = [d[0] for d in cur.description or ()]
            cur.close()
        finally:
            self._conn.set_progress_handler(None, 0)
        return columns, rows[:limit], len(rows) > limit

    def execute(self, sql: str) -> ExecResult:
        start = time.monotonic()
        with self._lock:
            self._conn.set_authorizer(_read_only_authorizer)
            try:
                columns, rows, truncated = self._run(sql, limit=self.max_rows, deadline=start + self.timeout_s)
            except (sqlite3.Error, ValueError, OverflowError) as exc:  # ValueError: NUL in the text
                seconds = time.monotonic() - start
                if isinstance(exc, sqlite3.OperationalError) and str(exc) == "interrupted":
                    return ExecResult(False, error=f"timeout after {self.timeout_s:g}s", timed_out=True,
                                      seconds=seconds)
                message = str(exc) or type(exc).__name__
                if message == "not authorized":
                    message = "not authorized: read-only database (writes, ATTACH and PRAGMA are refused)"
                return ExecResult(False, error=message, seconds=seconds)
            except sqlite3.Warning as exc:  # "You can only execute one statement at a time."
                return ExecResult(False, error=str(exc), seconds=time.monotonic() - start)
            finally:
                self._conn.set_authorizer(None)
        return ExecResult(True, tuple(columns), tuple(tuple(r) for r in rows), truncated=truncated,
                          seconds=time.monotonic() - start)

    def schema(self, samples: int = 3) -> Schema:
        from dataflow.lib.sql.schema import sqlite_schema

        with self._lock:
            return sqlite_schema(self._conn, samples)

    def close(self) -> None:
        self._conn.close()


# ------------------------------------------------------------------------------------------- PostgreSQL
class PostgresDatabase(Database):
    """A PostgreSQL database by URL (``postgresql://user@host:port/dbname``, or a libpq conninfo)."""

    engine = "postgresql"

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S, max_rows: int = DEFAULT_MAX_ROWS,
                 dbname: str | None = None) -> None:
        super().__init__(timeout_s, max_rows)
        import psycopg

        self.url = url
        extra = {"dbname": dbname} if dbname else {}
        self._conn = psycopg.connect(url, autocommit=False, connect_timeout=max(1, int(self.timeout_s)),
                                     options="-c default_transaction_read_only=on", **extra)
        self._lock = threading.Lock()

    def _run(self, sql: str, *, limit: int) -> tuple[list[str], list, bool]:
        import psycopg

        ms = max(1, int(self.timeout_s * 1000))
        try:
            with self._conn.cursor() as cur:
                cur.execute("SET TRANSACTION READ ONLY")
                cur.execute(f"SET LOCAL statement_timeout = {ms}")
                # prepare=True: the extended protocol, one statement only (no "COMMIT; ..." escape)
                cur.execute(sql.encode() if isinstance(sql, str) else sql, prepare=True)  # type: ignore[arg-type]
                if cur.description is None:
                    return [], [], False
                rows = cur.fetchmany(limit + 1)
                return [d.name for d in cur.description], rows[:limit], len(rows) > limit
        finally:
            try:
                self._conn.rollback()
            except psycopg.Error:
                pass

    def execute(self, sql: str) -> ExecResult:
        import psycopg

        start = time.monotonic()
        with self._lock:
            try:
                columns, rows, truncated = self._run(sql, limit=self.max_rows)
            except psycopg.errors.QueryCanceled:
                return ExecResult(False, error=f"timeout after {self.timeout_s:g}s", timed_out=True,
                                  seconds=time.monotonic() - start)
            except (psycopg.Error, ValueError) as exc:
                message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                return ExecResult(False, error=message, seconds=time.monotonic() - start)
        return ExecResult(True, tuple(columns), tuple(tuple(r) for r in rows), truncated=truncated,
                          seconds=time.monotonic() - start)

    def schema(self, samples: int = 3) -> Schema:
        from dataflow.lib.sql.schema import postgres_schema

        with self._lock:
            try:
                return postgres_schema(self._conn, samples)
            finally:
                self._conn.rollback()

    def close(self) -> None:
        self._conn.close()


# ------------------------------------------------------------------------------------------ a set of them
_SQLITE_SUFFIXES = (".sqlite", ".db", ".sqlite3", ".sql")


@dataclass
class DatabaseSet:
    """Databases by id, opened on first use and kept open. Exactly one of ``db_root`` / ``db_url``.

    ``db_root``: a directory in Spider's layout or of ``<db_id>.sqlite`` files, or one SQLite file.
    ``db_url``: a PostgreSQL server; a row's ``db_id`` names the database on it (empty: the URL's own)."""

    db_root: str | None = None
    db_url: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_rows: int = DEFAULT_MAX_ROWS
    _open: dict[str, Database] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if (self.db_root is None) == (self.db_url is None):
            raise ValueError("give exactly one of db_root (SQLite) or db_url (PostgreSQL)")
        if self.timeout_s <= 0 or self.max_rows <= 0:
            raise ValueError("timeout_s and max_rows must be positive")

    def sqlite_path(self, db_id: str) -> Path | None:
        """The SQLite file of ``db_id``, or None when there is none."""
        root = Path(self.db_root or "")
        if root.is_file():
            return root
        if not db_id or "/" in db_id or "\\" in db_id or db_id.startswith("."):
            return None
        for candidate in (root / db_id / f"{db_id}.sqlite", root / db_id / f"{db_id}.sql",
                          *(root / f"{db_id}{s}" for s in _SQLITE_SUFFIXES)):
            if candidate.is_file():
                return candidate
        return None

    def get(self, db_id: str | None) -> Database:
        """The database named ``db_id``; raises ``LookupError`` when there is none."""
        key = db_id or ""
        with self._lock:
            if key not in self._open:
                if self.db_url is not None:
                    self._open[key] = PostgresDatabase(self.db_url, self.timeout_s, self.max_rows, dbname=key or None)
                else:
                    path = self.sqlite_path(key)
                    if path is None:
                        raise LookupError(f"no database {key!r} under {self.db_root}")
                    self._open[key] = SQLiteDatabase(path, self.timeout_s, self.max_rows)
            return self._open[key]

    def execute(self, db_id: str | None, sql: str) -> ExecResult:
        """Run ``sql`` on ``db_id``; an unknown database or a failed connection is an error result too."""
        if not isinstance(sql, str) or not sql.strip():
            return ExecResult(False, error="empty SQL")
        try:
            database = self.get(db_id)
        except Exception as exc:  # noqa: BLE001 - a missing file or a refused connection is the row's error
            return ExecResult(False, error=(str(exc).strip().splitlines() or [type(exc).__name__])[0])
        return database.execute(sql)

    def close(self) -> None:
        with self._lock:
            opened, self._open = self._open, {}
        for database in opened.values():
            database.close()
