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
