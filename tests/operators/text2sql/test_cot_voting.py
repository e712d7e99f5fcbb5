"""Text2SQLCoTVotingGenerator on a real SQLite database: candidates grouped by result, the largest group
wins, and a row is kept only with a verified winner."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from dataflow.operators.text2sql.cot_voting import Text2SQLCoTVotingGenerator
from dataflow.testing import run_operator
from tests.operators.text2sql.test_prompt_generator import music_db

pytest.importorskip("sqlglot")

FRANCE = "SELECT name FROM singer WHERE country = 'France'"


def cot(sql: str) -> str:
    return f"Let me think about the tables.\n```sql\n{sql}\n```"


def test_the_largest_group_wins_and_must_match_gold(tmp_path):
    root = music_db(tmp_path)
    rows = [
        # Two candidates return the French singers (one through LIKE), one the old singers; one has no
        # query and one fails: the French group wins with 2 votes and matches gold.
        {"cot_responses": [cot("SELECT name FROM singer WHERE age > 40"), cot(FRANCE), "No query here.",
                           cot("SELECT name FROM singr"), cot("SELECT s.name FROM singer AS s WHERE s.country LIKE 'fr%'")],
         "SQL": FRANCE},
        # The majority is wrong: dropped, though one candidate had gold's result.
        {"cot_responses": [cot("SELECT name FROM singer"), cot(FRANCE), cot("SELECT name FROM singer;")],
         "SQL": FRANCE},
        # Nothing executes; the DELETE is refused by the read-only connection.
        {"cot_responses": ["I do not know.", cot("DELETE FROM singer")], "SQL": FRANCE},
        {"cot_responses": [cot(FRANCE)], "SQL": "SELECT name FROM singers"},
        # The list comes back from parquet as an array.
        {"cot_responses": np.array([cot("SELECT max(age) FROM singer")], dtype=object),
         "SQL": "SELECT age FROM singer ORDER BY age DESC LIMIT 1"},
    ]
    result = run_operator(Text2SQLCoTVotingGenerator(db_root=root), [{**r, "db_id": "music"} for r in rows])
    assert sorted(result.written) == ["cot_reasoning", "cot_votes", "voted_SQL"]
    assert [(r["cot_reasoning"], r["voted_SQL"], r["cot_votes"]) for r in result.kept] == [
        (cot(FRANCE), FRANCE, 2), (cot("SELECT max(age) FROM singer"), "SELECT max(age) FROM singer", 1)]
    assert result.drop_reasons == ["voted SQL differs from the gold SQL",
                                   "only 0 of 2 candidates execute (min_executable 1)"]
    # The dropped row still shows what won the vote.
    assert (result.dropped[0]["voted_SQL"], result.dropped[0]["cot_votes"]) == ("SELECT name FROM singer", 2)
    assert result.reject_reasons == ["gold SQL fails: error: no such table: singers"]
    with sqlite3.connect(Path(root) / "music" / "music.sqlite") as con:
        assert con.execute("SELECT count(*) FROM singer").fetchone() == (4,)
    con.close()


def test_vote_without_gold_ties_and_min_executable(tmp_path):
    rows = [
        # A first query without ORDER BY groups results in any order: one group of three.
        {"cot_responses": [cot("SELECT name FROM singer"), cot("SELECT name FROM singer ORDER BY age DESC"),
                           cot("SELECT name FROM singer ORDER BY age")]},
        # Ordered first query: the same rows in another order are another result; a tie goes to the earliest.
        {"cot_responses": [cot("SELECT name FROM singer ORDER BY age"), cot("SELECT name FROM singer ORDER BY age DESC")]},
        # Different queries, same result: one group.
        {"cot_responses": [cot("SELECT max(age) FROM singer"), cot("SELECT min(age) FROM singer"), cot("SELECT 29.0")]},
        {"cot_responses": [cot(FRANCE), cot("SELECT x FROM singer")]},
        {"cot_responses": None},
    ]
    op = Text2SQLCoTVotingGenerator(db_root=music_db(tmp_path), min_executable=2)
    result = run_operator(op, [{**r, "db_id": "music"} for r in rows], input_sql_key=None)
    assert [(r["voted_SQL"], r["cot_votes"]) for r in result.kept] == [
        ("SELECT name FROM singer", 3), ("SELECT name FROM singer ORDER BY age", 1),
        ("SELECT min(age) FROM singer", 2)]
    assert result.drop_reasons == ["only 1 of 2 candidates execute (min_executable 2)",
                                   "only 0 of 0 candidates execute (min_executable 2)"]
    assert not result.rejected
    with pytest.raises(ValueError, match="min_executable"):
        Text2SQLCoTVotingGenerator(db_root="dbs", min_executable=0)


@pytest.mark.llm
@pytest.mark.slow
def test_prompt_cot_and_vote_on_the_embedded_model(tmp_path, real_llm):
    """The default templates on the real model: its chains of thought end in a query the vote verifies."""
    from dataflow.operators.text2sql.cot_generator import Text2SQLCoTGenerator
    from dataflow.operators.text2sql.prompt_generator import Text2SQLPromptGenerator

    root = music_db(tmp_path)
    rows = [{"db_id": "music", "question": "Which singers are from France?", "evidence": None, "SQL": FRANCE}]
    prompts = run_operator(Text2SQLPromptGenerator(db_root=root), rows)
    cots = run_operator(Text2SQLCoTGenerator(db_root=root, num_candidates=2, max_tokens=400), prompts.kept,
                        serving=real_llm)
    assert not cots.rejected, cots.reject_reasons
    voted = run_operator(Text2SQLCoTVotingGenerator(db_root=root), cots.kept)
    assert not voted.dropped and not voted.rejected, (voted.drop_reasons, cots.kept)
    assert "france" in voted.kept[0]["voted_SQL"].lower() and voted.kept[0]["cot_votes"] >= 1
