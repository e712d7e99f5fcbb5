"""Safe execution on real databases: read-only, a time limit that stops the query, a row cap, errors as results."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from dataflow.lib.sql import DatabaseSet

SPIDER = Path("/work/shared/fixtures/text2sql/spider/database")
WRITES = ["DROP TABLE pilot", "DELETE FROM pilot", "UPDATE pilot SET Name = 'x'", "INSERT INTO pilot VALUES (99, 'x', 1)",
          "CREATE TABLE t (a int)", "COMMIT; DROP TABLE pilot", "SELECT 1; DROP TABLE pilot"]
SQLITE_WRITES = [*WRITES, "ATTACH '{tmp}/new.db' AS other", "PRAGMA query_only = OFF", "PRAGMA user_version = 7",
                 "VACUUM", "REINDEX"]
CROSS = ", ".join(f"pilot p{i}" for i in range(9))  # 12**9 rows: minutes without a limit
COUNT = "SELECT count(*), sum(Age) FROM pilot"


@pytest.fixture
def aircraft(tmp_path):
    """A private copy of Spider's aircraft database (so a write that got through would not hurt the fixture)."""
    src = SPIDER / "aircraft" / "aircraft.sqlite"
    if not src.exists():
        pytest.skip("Spider fixtures not present")
    (tmp_path / "aircraft").mkdir()
    dst = tmp_path / "aircraft" / "aircraft.sqlite"
    dst.write_bytes(src.read_bytes())
    return tmp_path


def test_sqlite_writes_change_nothing(aircraft):
    dbs = DatabaseSet(db_root=str(aircraft), timeout_s=5)
    before = dbs.execute("aircraft", COUNT)
    assert before.ok and before.rows == ((12, sum(r[0] for r in sqlite3.connect(
        aircraft / "aircraft" / "aircraft.sqlite").execute("SELECT Age FROM pilot"))),)
    for sql in SQLITE_WRITES:
        result = dbs.execute("aircraft", sql.format(tmp=aircraft))
        assert not result.ok and result.error, sql
    assert dbs.execute("aircraft", COUNT).rows == before.rows
    assert not (aircraft / "new.db").exists()
    dbs.close()
    raw = sqlite3.connect(aircraft / "aircraft" / "aircraft.sqlite")  # seen from outside too
    assert raw.execute("SELECT count(*) FROM pilot").fetchone() == (12,)
    assert raw.execute("PRAGMA user_version").fetchone() == (0,)


def test_sqlite_timeout_interrupts_and_connection_stays_usable(aircraft):
    dbs = DatabaseSet(db_root=str(aircraft), timeout_s=1)
    start = time.monotonic()
    result = dbs.execute("aircraft", f"SELECT count(*) FROM {CROSS}")
    assert time.monotonic() - start < 3
    assert result.timed_out and result.reason == "timeout after 1s"
    assert dbs.execute("aircraft", COUNT).ok


def test_sqlite_row_cap_and_errors_as_results(aircraft):
    dbs = DatabaseSet(db_root=str(aircraft), max_rows=5)
    capped = dbs.execute("aircraft", "SELECT * FROM pilot")
    assert capped.ok and len(capped.rows) == 5 and capped.truncated and capped.columns == ("Pilot_Id", "Name", "Age")
    assert dbs.execute("aircraft", "SELECT * FROM nope").reason == "error: no such table: nope"
    assert "no database 'missing'" in dbs.execute("missing", "SELECT 1").error
    assert dbs.execute("../aircraft", "SELECT 1").error  # ids are names, not paths
    assert dbs.execute("aircraft", "").error == "empty SQL"


def test_single_file_root(aircraft):
    dbs = DatabaseSet(db_root=str(aircraft / "aircraft" / "aircraft.sqlite"))
    assert dbs.execute("anything", "SELECT count(*) FROM aircraft").rows == ((5,),)


def test_sqlite_schema_renders_keys_and_samples():
    if not (SPIDER / "aircraft").exists():
        pytest.skip("Spider fixtures not present")
    schema = DatabaseSet(db_root=str(SPIDER)).get("aircraft").schema(samples=2)
    assert [t.name for t in schema.tables] == ["pilot", "aircraft", "match", "airport", "airport_aircraft"]
    link = schema.table("airport_aircraft")
    assert {fk.ref_table for fk in link.foreign_keys} == {"aircraft", "airport"}
    text = schema.render()
    assert 'CREATE TABLE "pilot" (\n  "Pilot_Id" int(11), -- e.g. 1, 2' in text
    assert 'PRIMARY KEY ("Pilot_Id")' in text and 'REFERENCES "airport" ("Airport_ID")' in text
    assert "e.g." not in schema.render(samples=False)


@pytest.fixture(scope="module")
def pg_aircraft(postgres_url):
    from dataflow.lib.sql.sqlite_to_postgres import copy_sqlite_to_postgres

    if not (SPIDER / "aircraft").exists():
        pytest.skip("Spider fixtures not present")
    copy_sqlite_to_postgres(SPIDER / "aircraft" / "aircraft.sqlite", postgres_url, "aircraft_rw")
    return postgres_url


def test_postgres_writes_change_nothing(pg_aircraft):
    dbs = DatabaseSet(db_url=pg_aircraft, timeout_s=5)
    before = dbs.execute("aircraft_rw", COUNT)
    assert before.ok and before.rows[0][0] == 12
    for sql in [*WRITES, "SET default_transaction_read_only = off", "ALTER TABLE pilot ADD COLUMN x int"]:
        result = dbs.execute("aircraft_rw", sql)
        assert not result.ok or sql.startswith("SET"), (sql, result)
        if not result.ok:
            assert result.error, sql
    delete = dbs.execute("aircraft_rw", "DELETE FROM pilot")
    assert delete.error == "cannot execute DELETE in a read-only transaction"
    assert dbs.execute("aircraft_rw", "DROP TABLE pilot").ok is False  # the SET above was rolled back
    assert dbs.execute("aircraft_rw", COUNT).rows == before.rows
    dbs.close()


def test_postgres_timeout_interrupts(pg_aircraft):
    dbs = DatabaseSet(db_url=pg_aircraft, timeout_s=1, max_rows=3)
    start = time.monotonic()
    result = dbs.execute("aircraft_rw", f"SELECT count(*) FROM {CROSS}")
    assert time.monotonic() - start < 3
    assert result.timed_out and result.reason == "timeout after 1s"
    capped = dbs.execute("aircraft_rw", "SELECT name FROM pilot ORDER BY pilot_id")
    assert capped.ok and capped.truncated and len(capped.rows) == 3
    assert dbs.execute("aircraft_rw", "SELECT * FROM nope").reason == 'error: relation "nope" does not exist'
    schema = dbs.get("aircraft_rw").schema(samples=1)
    assert schema.table("pilot") is not None and schema.table("pilot").columns[0].type == "bigint"
    dbs.close()


def test_a_sql_script_is_a_read_only_database(tmp_path):
    (tmp_path / "shop.sql").write_text(
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO item VALUES (1, 'Pen'), (2, 'Cup');\n")
    (tmp_path / "broken.sql").write_text("CREATE TABLE t (a INT);\nINSERT INTO nowhere VALUES (1);\n")
    databases = DatabaseSet(db_root=str(tmp_path))
    assert databases.execute("shop", "DROP TABLE item").ok is False
    assert databases.execute("shop", "DELETE FROM item").ok is False
    assert databases.execute("shop", "SELECT name FROM item ORDER BY id").rows == (("Pen",), ("Cup",))
    assert "CREATE TABLE \"item\"" in databases.get("shop").schema().render()
    broken = databases.execute("broken", "SELECT 1")
    assert not broken.ok and "the SQL script fails: no such table: nowhere" in broken.error
    databases.close()
