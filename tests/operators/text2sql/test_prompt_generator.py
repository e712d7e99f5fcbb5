"""Text2SQLPromptGenerator on real SQLite databases: the schema, dialect, question and evidence in the prompt."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dataflow.operators.text2sql.prompt_generator import Text2SQLPromptGenerator
from dataflow.testing import run_operator

pytest.importorskip("sqlglot")

CHINOOK = Path("/work/shared/fixtures/text2sql/chinook/Chinook_Sqlite.sqlite")
SINGERS = [(1, "Joe Sharp", "Netherlands", 52), (2, "Timbaland", "United States", 32),
           (3, "Justin Brown", "France", 29), (4, "Rose White", "France", 41)]


def music_db(tmp_path: Path) -> str:
    """A db_root in Spider's layout holding one small database, ``music`` (a singer table)."""
    path = tmp_path / "dbs" / "music" / "music.sqlite"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, country TEXT, age INTEGER)")
        con.executemany("INSERT INTO singer VALUES (?, ?, ?, ?)", SINGERS)
    con.close()
    return str(tmp_path / "dbs")


def test_prompt_holds_schema_question_and_evidence(tmp_path):
    rows = [{"db_id": "music", "question": "Which singers are from France?", "evidence": "France is a country."},
            {"db_id": "music", "question": "How old is the oldest singer?", "evidence": None},
            {"db_id": "nope", "question": "Anything?", "evidence": ""},
            {"db_id": "music", "question": "  ", "evidence": ""}]
    result = run_operator(Text2SQLPromptGenerator(db_root=music_db(tmp_path)), rows)
    assert result.written == ["prompt"]
    first, second = (r["prompt"] for r in result.kept)
    assert "SQLite database" in first and "CREATE TABLE" in first and '"country" TEXT' in first
    assert "'Joe Sharp'" in first  # sample values
    assert "Question: Which singers are from France?" in first
    assert "Background knowledge: France is a country." in first
    assert "Background knowledge" not in second and "Question: How old is the oldest singer?" in second
    assert first.rstrip().endswith("```")  # asks for the query in a fenced block
    assert [r["reason"] for r in result.rejected] == [
        f"unknown database: no database 'nope' under {tmp_path / 'dbs'}", "no question"]


def test_custom_template_and_unbound_evidence(tmp_path):
    template = "[{{ dialect }}|{{ level }}] {{ question }}{{ evidence }}\n{{ schema }}"
    op = Text2SQLPromptGenerator(db_root=music_db(tmp_path), sample_values=0, prompt_template=template)
    # A template variable that is not provided is a column of the row.
    assert set(op.input_columns(op.resolve_bindings({"input_evidence_key": None}))) == {"db_id", "question", "level"}
    result = run_operator(op, [{"db_id": "music", "question": "Q?", "level": "easy"}], input_evidence_key=None)
    prompt = result.kept[0]["prompt"]
    assert prompt.startswith("[SQLite|easy] Q?\nCREATE TABLE")
    assert "e.g." not in prompt  # no sample values
    assert op.fingerprint_extras() == [template]


@pytest.mark.skipif(not CHINOOK.exists(), reason="Chinook fixture not present")
def test_single_file_database_needs_no_db_id():
    result = run_operator(Text2SQLPromptGenerator(db_root=str(CHINOOK)),
                          [{"question": "How many albums are there?", "evidence": None}], input_db_id_key=None)
    prompt = result.kept[0]["prompt"]
    assert 'CREATE TABLE "Album"' in prompt and 'CREATE TABLE "Track"' in prompt
