"""The sql_database resource kind: built, checked and fingerprinted from a config dict through the core's table."""

from __future__ import annotations

import pytest

from dataflow.core.resources import ResourcePool, ResourceSpec, resource_fingerprint
from tests.shared_fixtures import FIXTURES

SPIDER = FIXTURES / "text2sql/spider/database"


def test_checks_name_the_problem():
    assert "exactly one of db_root" in ResourceSpec("sql_database", {}).check()
    assert "exactly one of db_root" in ResourceSpec("sql_database", {"db_root": "a", "db_url": "b"}).check()
    assert "unknown sql_database setting(s) timeout" in ResourceSpec("sql_database", {"db_root": "a", "timeout": 1}).check()
    assert "max_rows must be a positive number" in ResourceSpec("sql_database", {"db_root": "a", "max_rows": 0}).check()
    assert ResourceSpec("sql_database", {"db_root": "a"}).check() is None


def test_fingerprint_follows_what_changes_results():
    fp = lambda **c: resource_fingerprint("sql_database", c)  # noqa: E731
    assert fp(db_root="a") == fp(db_root="a", timeout_s=10) == fp(db_root="a", timeout_s=10.0, max_rows=10000)
    assert len({fp(db_root="a"), fp(db_root="b"), fp(db_root="a", max_rows=5), fp(db_url="a")}) == 4


@pytest.mark.skipif(not SPIDER.exists(), reason="Spider fixtures not present")
def test_the_pool_builds_and_closes_it():
    pool = ResourcePool({"sql_database": ResourceSpec.of("sql_database", {"db_root": str(SPIDER), "max_rows": 2})})
    databases = pool.get("sql_database")
    assert pool.get("sql_database") is databases
    result = databases.execute("aircraft", "SELECT Name FROM pilot")
    assert result.ok and len(result.rows) == 2 and result.truncated
    pool.close()
    assert databases._open == {}
