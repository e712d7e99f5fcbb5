"""SQLExecutionClassifier with a scripted serving on a real SQLite database: the share of attempts that return
gold's result gives the label."""

from __future__ import annotations

import pytest

from dataflow.operators.text2sql.execution_classifier import SQLExecutionClassifier
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, user_text
from tests.operators.text2sql.test_prompt_generator import music_db

pytest.importorskip("sqlglot")

FRANCE = "SELECT name FROM singer WHERE country = 'France'"
RIGHT = [f"```sql\n{FRANCE}\n```", "```sql\nSELECT name FROM singer WHERE country LIKE 'france'\n```",
         "Draft ```sql\nSELECT 1\n``` then\n```sql\nSELECT s.name FROM singer AS s WHERE s.country = 'France';\n```",
         "```sql\nSELECT name FROM singer WHERE age IN (29, 41)\n```"]
WRONG = ["```sql\nSELECT name FROM singer\n```", "The French ones.", "```sql\nSELECT nam FROM singer\n```",
         "```sql\nSELECT name, country FROM singer WHERE country = 'France'\n```", "```sql\nDELETE FROM singer\n```"]
ATTEMPTS = {"easy": RIGHT[:4] + WRONG[:1], "medium": RIGHT[:3] + WRONG[:2], "hard": RIGHT[3:] + WRONG[:4],
            "extra": WRONG, "flaky": RIGHT[:4] + [None]}


def respond(call):
    case = user_text(call).split("Case: ", 1)[1].split("\n", 1)[0]
    return ATTEMPTS[case][call.seed - 3]


def row(case, sql=FRANCE):
    return {"db_id": "music", "prompt": f"Case: {case}\nWhich singers are from France?", "SQL": sql}


def test_label_follows_the_share_of_correct_attempts(tmp_path):
    serving = ScriptedServing(respond)
    rows = [row("easy"), row("medium"), row("hard"), row("extra"), row("flaky"),
            row("easy", "SELECT name FROM singers")]
    result = run_operator(SQLExecutionClassifier(db_root=music_db(tmp_path), seed=3), rows, serving=serving)
    assert [(r["sql_execution_difficulty"], r["execution_correct_count"]) for r in result.kept] == [
        ("easy", 4), ("medium", 3), ("hard", 1), ("extra", 0)]
    assert result.reject_reasons == ["llm: scripted failure", "gold SQL fails: error: no such table: singers"]
    # Five attempts per row whose gold runs (seeds 3..7, temperature 0.7), each asked for a sql block.
    assert len(serving.calls) == 25 and [c.seed for c in serving.calls[:5]] == [3, 4, 5, 6, 7]
    assert {c.temperature for c in serving.calls} == {0.7}
    assert user_text(serving.calls[0]).startswith(rows[0]["prompt"]) and "```sql" in user_text(serving.calls[0])


def test_thresholds_are_params():
    op = SQLExecutionClassifier(db_root="dbs", num_generations=10, easy_threshold=0.9, medium_threshold=0.5,
                                hard_threshold=0.1)
    assert [op.label(c) for c in (10, 9, 8, 5, 4, 1, 0)] == ["easy", "easy", "medium", "medium", "hard", "hard",
                                                             "extra"]
    with pytest.raises(ValueError, match="hard_threshold <= medium_threshold"):
        SQLExecutionClassifier(db_root="dbs", easy_threshold=0.4)
    with pytest.raises(ValueError, match="temperature"):
        SQLExecutionClassifier(db_root="dbs", temperature=0)
