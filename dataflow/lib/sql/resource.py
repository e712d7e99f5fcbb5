"""A set of SQL databases as a pipeline resource (kind ``"sql_database"``): built from a config dict.

Config (one of ``db_root`` / ``db_url``)::

    {"db_root": "spider/database", "timeout_s": 10, "max_rows": 10000}
    {"db_url": "postgresql://reader@dbhost/postgres", "timeout_s": 10}

The execution operators of ``dataflow.operators.text2sql`` take these same keys as their own params
(that is how a spec configures them); this kind lets other code get a :class:`DatabaseSet` from the
resource pool, built once per process and closed at the end.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dataflow.lib.sql.database import DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT_S, DatabaseSet

_KEYS = ("db_root", "db_url", "timeout_s", "max_rows")


def _settings(config: dict[str, Any] | None) -> dict[str, Any]:
    config = dict(config or {})
    unknown = sorted(set(config) - set(_KEYS))
    if unknown:
        raise ValueError(f"unknown sql_database setting(s) {', '.join(unknown)}; known: {', '.join(_KEYS)}")
    if ("db_root" in config) == ("db_url" in config):
        raise ValueError("sql_database needs exactly one of db_root (SQLite) or db_url (PostgreSQL)")
    settings = {"timeout_s": DEFAULT_TIMEOUT_S, "max_rows": DEFAULT_MAX_ROWS, **config}
    for key in ("timeout_s", "max_rows"):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"sql_database setting {key} must be a positive number, not {value!r}")
    return settings


def create_database(config: dict[str, Any] | None = None) -> DatabaseSet:
    """A :class:`DatabaseSet` from a config dict; connections open on first use."""
    s = _settings(config)
    return DatabaseSet(s.get("db_root"), s.get("db_url"), float(s["timeout_s"]), int(s["max_rows"]))


def database_fingerprint(config: dict[str, Any] | None = None) -> str:
    """Every setting changes what a query returns (which database, when it is cut off, how many rows)."""
    s = _settings(config)
    text = json.dumps({**s, "timeout_s": float(s["timeout_s"]), "max_rows": int(s["max_rows"])}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_database_config(config: dict[str, Any] | None = None) -> str | None:
    """A problem with the config, for ``compile()``; None when it is fine."""
    try:
        _settings(config)
    except ValueError as exc:
        return str(exc)
    return None
