"""SQLGenerator on a real SQLite database with a scripted serving: candidates per complexity, each with its
own seed; only queries that parse and execute are kept, duplicates and writes are not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dataflow.operators.text2sql.sql_generator import SQLGenerator
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text


def make_music_db(root: Path, name: str = "music") -> Path:
    """``<root>/<name>.sqlite``: singers and their concerts (a directory of files is a db_root)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, country TEXT, age INTEGER);
        CREATE TABLE concert (concert_id INTEGER PRIMARY KEY, singer_id INTEGER REFERENCES singer(singer_id),
                              year INTEGER, venue TEXT);
        INSERT INTO singer VALUES (1, 'Joe Sharp', 'France', 52), (2, 'Timbaland', 'United States', 32),
                                  (3, 'Rose White', 'France', 41), (4, 'John Nizinik', 'Netherlands', 29);
        INSERT INTO concert VALUES (1, 1, 2014, 'Stark''s Park'), (2, 1, 2015, 'Glebe Park'),
                                   (3, 2, 2014, 'Hampden Park'), (4, 3, 2015, 'Recreation Park');
    """)
    conn.commit()
    conn.close()
    return path


def singer_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM singer").fetchone()[0]


ANSWERS = {
    "music": {
        "simple": "SELECT name FROM singer WHERE country = 'France';",
        "moderate": "SELECT country, COUNT(*) FROM singer GROUP BY country",
        "complex": "select  NAME from SINGER where country = 'France'",  # the simple one again, reworded
        "highly complex": "SELECT nickname FROM singer",  # no such column
    },
    "shop": {  # nothing usable: writes, a syntax error, no query at all
        "simple": "DELETE FROM singer",
        "moderate": "DROP TABLE singer",
        "complex": "SELECT name FROM singer WHERE",
        "highly complex": "  ",
    },
}


def db_of(text: str) -> str:
    """Which database a prompt shows, by the sample values each lacks."""
    return "down" if "Timbaland" not in text else "shop" if "Glebe Park" not in text else "music"


def respond(call):
    text = user_text(call)
    if db_of(text) == "down":
        return None  # the call fails
    level = text.split("Write one ", 1)[1].split(" SELECT query")[0]
    return as_json(sql=ANSWERS[db_of(text)][level])


def test_keeps_the_candidates_that_parse_and_execute_one_row_each(tmp_path):
    root = tmp_path / "dbs"
    music = make_music_db(root)
    shop = make_music_db(root, "shop")
    sqlite3.connect(shop).execute("DELETE FROM concert WHERE venue = 'Glebe Park'").connection.commit()
    down = make_music_db(root, "down")
    sqlite3.connect(down).execute("DELETE FROM singer WHERE name = 'Timbaland'").connection.commit()
    serving = ScriptedServing(respond)
    rows = [{"db_id": "music", "batch": 1}, {"db_id": "shop", "batch": 1}, {"db_id": "down", "batch": 1},
            {"db_id": "nowhere", "batch": 1}]
    result = run_operator(SQLGenerator(db_root=str(root)), rows, serving=serving)

    assert [(r["db_id"], r["SQL"], r["sql_complexity"], r["batch"]) for r in result.kept] == [
        ("music", "SELECT name FROM singer WHERE country = 'France'", "simple", 1),
        ("music", "SELECT country, COUNT(*) FROM singer GROUP BY country", "moderate", 1)]
    assert result.kept_ids == ["1.0", "1.1"]
    [why] = result.drop_reasons
    assert why.startswith("no usable SQL among 4 candidates: sql parse error: not a query: DELETE statement; "
                          "sql parse error: not a query: DROP statement; sql parse error")
    assert [r["db_id"] for r in result.rejected] == ["down", "nowhere"]
    assert result.reject_reasons[0].startswith("llm: ")
    assert result.reject_reasons[1] == f"database: no database 'nowhere' under {root}"
    # Nothing was written to the databases, whatever the model wrote.
    assert singer_count(music) == singer_count(shop) == 4
    # Four requests per database that exists (none for the unknown one), one per level, each its own seed.
    assert len(serving.calls) == 12
    music_calls = [c for c in serving.calls if db_of(user_text(c)) == "music"]
    assert [c.seed for c in music_calls] == [0, 1, 2, 3]
    assert {c.temperature for c in serving.calls} == {0.8}
    assert all(c.schema == SQLGenerator(db_root=str(root)).schema() for c in serving.calls)
    prompt = user_text(music_calls[0])
    assert 'CREATE TABLE "singer"' in prompt and "'Joe Sharp', 'Timbaland'" in prompt
    assert "SQLite" in prompt and "Write one simple SELECT query" in prompt


def test_complexities_cycle_over_the_requests_and_a_dropped_row_has_a_reason(tmp_path):
    root = tmp_path / "dbs"
    make_music_db(root)

    def one_query(call):
        return as_json(sql="SELECT name FROM singer ORDER BY age")  # the same answer every time

    serving = ScriptedServing(one_query)
    op = SQLGenerator(db_root=str(root), num_sql=3, complexities=("simple", "complex"), seed=10)
    result = run_operator(op, [{"db_id": "music"}], serving=serving)
    assert [r["sql_complexity"] for r in result.kept] == ["simple"]  # the two others are duplicates
    assert ["Write one complex" in user_text(c) for c in serving.calls] == [False, True, False]
    assert [c.seed for c in serving.calls] == [10, 11, 12]
    assert op.params["complexities"] == ("simple", "complex")

    failing = ScriptedServing(lambda call: as_json(sql="SELECT * FROM concerts"))
    dropped = run_operator(SQLGenerator(db_root=str(root), num_sql=2), [{"db_id": "music"}], serving=failing)
    assert dropped.kept == []
    assert dropped.drop_reasons == ["no usable SQL among 2 candidates: error: no such table: concerts"]


def test_a_single_file_db_root_serves_rows_without_db_id(tmp_path):
    path = make_music_db(tmp_path)
    serving = ScriptedServing(lambda call: as_json(sql="WITH f AS (SELECT * FROM singer) SELECT COUNT(*) FROM f"))
    result = run_operator(SQLGenerator(db_root=str(path), num_sql=1), [{"db_id": None}], serving=serving)
    assert [r["SQL"] for r in result.kept] == ["WITH f AS (SELECT * FROM singer) SELECT COUNT(*) FROM f"]


CHINOOK = Path("/work/shared/fixtures/text2sql/chinook/Chinook_Sqlite.sqlite")
needs_chinook = pytest.mark.skipif(not CHINOOK.exists(), reason=f"Chinook fixture not present at {CHINOOK}")


@needs_chinook
def test_on_chinook_the_schema_is_shown_and_queries_run_there():
    answers = iter(["SELECT Name FROM Artist WHERE ArtistId < 4",
                    "SELECT g.Name, COUNT(*) FROM Track t JOIN Genre g ON g.GenreId = t.GenreId GROUP BY g.Name",
                    "SELECT Title FROM Albums",  # the table is Album
                    "SELECT Name FROM Artist WHERE ArtistId < 4 ;"])  # the first again
    serving = ScriptedServing(lambda call: as_json(sql=next(answers)))
    result = run_operator(SQLGenerator(db_root=str(CHINOOK)), [{"db_id": "chinook"}], serving=serving)
    assert [r["sql_complexity"] for r in result.kept] == ["simple", "moderate"]
    prompt = user_text(serving.calls[0])
    assert 'CREATE TABLE "Album"' in prompt and 'FOREIGN KEY ("ArtistId") REFERENCES "Artist"' in prompt


@pytest.mark.llm
@pytest.mark.slow
@needs_chinook
def test_the_embedded_model_writes_executing_sql_for_chinook(real_llm):
    op = SQLGenerator(db_root=str(CHINOOK), num_sql=2, max_tokens=200)
    result = run_operator(op, [{"db_id": "chinook"}], serving=real_llm)
    assert result.kept or result.dropped, result.rejected
    with sqlite3.connect(f"file:{CHINOOK}?mode=ro", uri=True) as conn:
        for row in result.kept:
            conn.execute(row["SQL"]).fetchall()  # every kept query runs
    assert all(r.startswith("no usable SQL among 2 candidates: ") for r in result.drop_reasons)
