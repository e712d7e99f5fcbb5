"""Persistent response cache: one SQLite file shared by processes (WAL mode, busy timeout).

Keys are sha256 hex digests computed by ``LLMServing.cache_key`` (backend fingerprint, messages,
schema, sampling parameters); values are the JSON of a successful result.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path


def cache_home() -> Path:
    """``$DATAFLOW_CACHE_HOME``, else the platform's user cache dir for dataflow."""
    env = os.environ.get("DATAFLOW_CACHE_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("dataflow"))


def default_cache_path() -> Path:
    return cache_home() / "llm_cache.sqlite"


class ResponseCache:
    """Key/value store of LLM results. Safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            # Switching a new file to WAL takes an exclusive lock and, unlike ordinary statements, does not
            # wait on the busy timeout: two processes opening a fresh cache at once can see "database is
            # locked". Retry briefly (bounded) until one of them has converted it.
            for attempt in range(100):
                try:
                    # WAL lets readers in other processes proceed while one process writes.
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS responses ("
                        " key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
                    )
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == 99:
                        conn.close()
                        raise
                    time.sleep(0.05 + 0.01 * attempt)
            self._conn = conn
        return self._conn

    def get(self, key: str) -> dict | None:
        with self._lock:
            row = self._connection().execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: dict) -> None:
        blob = json.dumps(value)
        with self._lock:
            self._connection().execute(
                "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)",
                (key, blob, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return self._connection().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def clear(self) -> None:
        with self._lock:
            self._connection().execute("DELETE FROM responses")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def open_cache(setting: object) -> ResponseCache | None:
    """Interpret the ``cache`` config value: True/None (default path), False, or a path."""
    if setting is False:
        return None
    if setting is None or setting is True:
        return ResponseCache()
    if isinstance(setting, (str, os.PathLike)):
        return ResponseCache(setting)
    raise ValueError(f"cache must be true, false or a path, not {setting!r}")
