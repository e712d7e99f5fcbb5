"""Text2SQLCorrespondenceFilter on a real SQLite database with a scripted judge: mismatches are dropped with
the judge's reason, rows without a question or SQL are not sent, failures are rejected."""

from __future__ import annotations

from dataflow.operators.text2sql.correspondence_filter import Text2SQLCorrespondenceFilter
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text
from tests.operators.text2sql.test_sql_generator import make_music_db

FRENCH = "SELECT name FROM singer WHERE country = 'France'"


def judge(call):
    text = user_text(call)
    if "How old" in text:
        return None  # the call fails
    if "Which singers are French?" in text and FRENCH in text:
        return as_json(matches=True, reason="it lists the French singers")
    return as_json(matches=False, reason="the query does not filter by age")


def test_keeps_matching_pairs_and_drops_the_others_with_the_judges_reason(tmp_path):
    root = tmp_path / "dbs"
    make_music_db(root)
    rows = [
        {"db_id": "music", "question": "Which singers are French?", "SQL": FRENCH, "evidence": "French: France"},
        {"db_id": "music", "question": "Which singers are over 40?", "SQL": FRENCH, "evidence": None},
        {"db_id": "music", "question": "How old is Joe Sharp?", "SQL": "SELECT age FROM singer", "evidence": None},
        {"db_id": "music", "question": " ", "SQL": FRENCH, "evidence": None},
        {"db_id": "music", "question": "Who?", "SQL": None, "evidence": None},
        {"db_id": "nowhere", "question": "Which singers are French?", "SQL": FRENCH, "evidence": None},
    ]
    serving = ScriptedServing(judge)
    op = Text2SQLCorrespondenceFilter(db_root=str(root))
    result = run_operator(op, rows, serving=serving, input_evidence_key="evidence")
    assert [(r["question"], r["correspondence"]) for r in result.kept] == [("Which singers are French?", True)]
    assert result.drop_reasons == ["question and SQL disagree: the query does not filter by age",
                                   "no question", "no SQL"]
    assert [d["correspondence"] for d in result.dropped] == [False, None, None]
    assert result.reject_reasons == ["llm: scripted failure", f"database: no database 'nowhere' under {root}"]
    assert len(serving.calls) == 3  # only the rows with a question, SQL and a database
    prompt = user_text(serving.calls[0])
    assert "Question: Which singers are French?\nExternal knowledge: French: France" in prompt
    assert f"SQL query:\n{FRENCH}" in prompt and "name\nJoe Sharp\nRose White" in prompt
    assert "External knowledge" not in user_text(serving.calls[1])
    assert serving.calls[0].schema == op.schema() and serving.calls[0].temperature == 0.0

    # Without the evidence binding the column is not read.
    assert "evidence" not in op.input_columns(op.resolve_bindings({}))
