"""Text2SQLCorrespondenceFilter on a real SQLite database with a scripted judge: mismatches are dropped with
the judge's reason, rows without a question or SQL are not sent, failures are rejected."""

from __future__ import annotations

import json

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


def test_the_four_llm_operators_chain_in_a_pipeline(tmp_path):
    """SQL from the database -> a question for each -> the correspondence check -> variations: the engine
    runs them as steps (new rows, drop reasons, a resumable cache)."""
    from dataflow.core.pipeline import Pipeline
    from dataflow.operators.text2sql.question_generator import Text2SQLQuestionGenerator
    from dataflow.operators.text2sql.sql_generator import SQLGenerator
    from dataflow.operators.text2sql.sql_variation_generator import SQLVariationGenerator

    root = tmp_path / "dbs"
    make_music_db(root)
    queries = {"simple": FRENCH, "moderate": "SELECT COUNT(*) FROM concert WHERE year = 2014"}
    questions = {FRENCH: "Which singers are French?", queries["moderate"]: "How many albums sold?"}

    def respond(call):
        text = user_text(call)
        if text.startswith("You write SQL queries"):
            return as_json(sql=queries[text.split("Write one ", 1)[1].split(" SELECT")[0]])
        if text.startswith("You write the natural-language question"):
            return as_json(question=questions[text.split("SQL query:\n", 1)[1].split("\n")[0]],
                           external_knowledge="")
        if text.startswith("Decide whether"):
            return judge(call)
        return as_json(sql="SELECT name, age FROM singer WHERE country = 'France'")

    class FromDatabase(Pipeline):
        def forward(self):
            SQLGenerator(db_root=str(root), num_sql=2).run(self.storage)
            Text2SQLQuestionGenerator(db_root=str(root), num_candidates=1).run(self.storage)
            Text2SQLCorrespondenceFilter(db_root=str(root)).run(self.storage)
            SQLVariationGenerator(db_root=str(root), num_variations=1).run(self.storage)

    src = tmp_path / "in.jsonl"
    src.write_text('{"db_id": "music"}\n')
    out = tmp_path / "out.jsonl"
    FromDatabase(src, out, cache_dir=tmp_path / "cache", serving=ScriptedServing(respond)).run()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["SQL"], r["variation_type"], r["question"]) for r in rows] == [
        (FRENCH, "original", "Which singers are French?"),
        ("SELECT name, age FROM singer WHERE country = 'France'", "filter", "Which singers are French?")]
    assert all(r["correspondence"] is True for r in rows)
    steps = json.loads((tmp_path / "cache" / "run.json").read_text())["steps"]
    assert [s["rows_out"] for s in steps] == [2, 2, 1, 2]
    assert steps[2]["dropped"] == {"question and SQL disagree: the query does not filter by age": 1}
