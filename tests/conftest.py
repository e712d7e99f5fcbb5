"""Fixtures shared across test packages."""

from __future__ import annotations

import pytest


@pytest.fixture
def real_llm():
    """The default embedded model with no response cache, so every call really reaches it; skips with the
    reason when the runtime or the weights are not installed."""
    from tests.serving.conftest import _embedded_unavailable

    reason = _embedded_unavailable()
    if reason:
        pytest.skip(f"embedded model unavailable: {reason}")
    from dataflow.serving import create_serving

    serving = create_serving({"cache": False})
    yield serving
    serving.close()


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server started for the session (Debian's initdb/pg_ctl), stopped at the end;
    skips with the reason when none can be started here."""
    from tests.lib.sql.postgres import start

    server, why = start()
    if server is None:
        pytest.skip(f"no PostgreSQL server: {why}")
    try:
        yield server.url
    finally:
        server.stop()
