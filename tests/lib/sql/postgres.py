"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` in a temporary directory, on a unix socket.

Uses Debian's server binaries (on ``PATH`` or under ``/usr/lib/postgresql/<version>/bin``); PostgreSQL refuses
to run as root, so as root the server runs as ``nobody``. Without them, the ``pgserver`` package (a dev
dependency: PostgreSQL binaries in a wheel). :func:`start` returns None with the reason when no server can
be started; the caller skips.
"""

from __future__ import annotations

import glob
import os
import random
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(d, "pg_ctl").exists() and Path(d, "initdb").exists():
            return Path(d)
    return None


@dataclass
class PostgresServer:
    bin_dir: Path
    work: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.work}&port={self.port}"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        return ["runuser", "-u", "nobody", "--", *cmd] if os.geteuid() == 0 else cmd

    def stop(self) -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.work / "data"), "-m", "immediate", "-w", "stop"),
                       capture_output=True, timeout=60)
        shutil.rmtree(self.work, ignore_errors=True)


@dataclass
class PgserverServer:
    server: Any
    work: Path

    @property
    def url(self) -> str:
        return self.server.get_uri()

    def stop(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self.work, ignore_errors=True)


def _start_pgserver() -> tuple[PgserverServer | None, str]:
    try:
        import pgserver
    except ImportError:
        return None, "no PostgreSQL server binaries (initdb, pg_ctl) and no pgserver package"
    work = Path(tempfile.mkdtemp(prefix="pgs-", dir="/tmp"))
    try:
        return PgserverServer(pgserver.get_server(work, cleanup_mode="stop"), work), ""
    except Exception as exc:  # noqa: BLE001 - any failure to start is a reason to skip
        shutil.rmtree(work, ignore_errors=True)
        return None, f"pgserver failed: {exc}"


def start(use_pgserver: bool = False) -> tuple[PostgresServer | PgserverServer | None, str]:
    """A running server and "", or None and why not."""
    bin_dir = None if use_pgserver else _bin_dir()
    if bin_dir is None:
        return _start_pgserver()
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return None, "running as root without runuser to drop privileges for PostgreSQL"
    work = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))  # short: a socket path has ~100 chars at most
    if os.geteuid() == 0:
        os.chmod(work, 0o755)
        shutil.chown(work, "nobody")
    server = PostgresServer(bin_dir, work, random.randint(20000, 60000))
    init = subprocess.run(server._cmd("initdb", "-D", str(work / "data"), "-U", "postgres", "-A", "trust",
                                      "--no-sync", "-E", "UTF8", "--locale=C"), capture_output=True, text=True,
                          timeout=120)
    if init.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        return None, f"initdb failed: {init.stderr.strip()[-300:]}"
    options = f"-k {work} -p {server.port} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
    started = subprocess.run(server._cmd("pg_ctl", "-D", str(work / "data"), "-o", options,
                                         "-l", str(work / "log"), "-w", "-t", "60", "start"),
                             capture_output=True, text=True, timeout=90)
    if started.returncode != 0:
        log = (work / "log").read_text(errors="replace")[-300:] if (work / "log").exists() else ""
        server.stop()
        return None, f"pg_ctl start failed: {started.stderr.strip()[-300:]} {log}"
    return server, ""


def _integral(value: object) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"-?(0|[1-9][0-9]{0,17})", value) is not None)


def _pg_type(declared: str, values: list) -> str:
    """A PostgreSQL type for a SQLite column: by its declared affinity, text when the values disagree
    (SQLite keeps whatever is stored: 'abc' in an INT column; '6' in an INT column is the number)."""
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


def load_sqlite(url: str, sqlite_path: str | Path, dbname: str) -> None:
    """Copy a SQLite database into a new PostgreSQL database ``dbname``: tables and rows, names lowercased
    (PostgreSQL folds unquoted names), primary keys where the data satisfies them, no foreign keys."""
    import sqlite3

    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        admin.execute(f'CREATE DATABASE "{dbname}"')
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    src.text_factory = lambda b: b.decode("utf-8", errors="replace")
    with psycopg.connect(url, dbname=dbname) as dst:
        tables = [r[0] for r in src.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            info = src.execute(f'PRAGMA table_info("{table}")').fetchall()
            rows = src.execute(f'SELECT * FROM "{table}"').fetchall()
            types = [_pg_type(col[2] or "", [r[i] for r in rows]) for i, col in enumerate(info)]
            names = [f'"{col[1].lower()}"' for col in info]
            cols = ", ".join(f"{n} {t}" for n, t in zip(names, types))
            dst.execute(f'CREATE TABLE "{table.lower()}" ({cols})')
            def cell(v, t):
                if v is None:
                    return None
                return str(v) if t == "text" and not isinstance(v, str) else int(v) if t == "bigint" else v
            rows = [tuple(cell(v, t) for v, t in zip(r, types)) for r in rows]
            with dst.cursor() as cur:
                if rows:
                    marks = ", ".join(["%s"] * len(names))
                    cur.executemany(f'INSERT INTO "{table.lower()}" VALUES ({marks})', rows)
            pk = [f'"{col[1].lower()}"' for col in sorted((c for c in info if c[5]), key=lambda c: c[5])]
            if pk:  # when the data allows it: PostgreSQL then accepts other columns of a GROUP BY on the key
                try:
                    with dst.transaction():
                        dst.execute(f'ALTER TABLE "{table.lower()}" ADD PRIMARY KEY ({", ".join(pk)})')
                except psycopg.Error:
                    pass
    src.close()
