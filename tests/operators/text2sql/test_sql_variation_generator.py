"""SQLVariationGenerator on a real SQLite database with a scripted serving: one request per kind of
variation; a variation is kept only when its normalised text is new and it executes."""

from __future__ import annotations

import pytest

from dataflow.core.plan import Step, check_steps
from dataflow.operators.text2sql.sql_variation_generator import SQLVariationGenerator
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text
from tests.operators.text2sql.test_sql_generator import make_music_db

SEED = "SELECT name FROM singer WHERE country = 'France'"
VARIANTS = {
    "change its filtering": "SELECT name FROM singer WHERE country = 'France' AND age > 45",
    "aggregate differently": 'select "NAME" from Singer where country = \'France\';',  # the seed, reworded
    "join a related table": "SELECT s.name, c.venue FROM singer s JOIN concert c ON c.singer_id = s.singer_id",
    "order the result": "SELECT name FROM singer ORDER BY ag",  # no such column
    "return different": "SELECT name, age FROM singer WHERE country = 'France' AND age > 45",
}


def respond(call):
    text = user_text(call)
    if "Original query:\nSELECT 1 FROM broken" in text:
        return None
    return as_json(sql=next(sql for hint, sql in VARIANTS.items() if hint in text))


def test_variations_are_new_executing_queries_beside_the_original(tmp_path):
    root = tmp_path / "dbs"
    make_music_db(root)
    serving = ScriptedServing(respond)
    op = SQLVariationGenerator(db_root=str(root), num_variations=4,
                               variation_types=("filter", "aggregate", "join", "order"))
    rows = [{"db_id": "music", "SQL": SEED, "question": "Who is French?"},
            {"db_id": "music", "SQL": None, "question": "nothing"},
            {"db_id": "music", "SQL": "SELECT 1 FROM broken", "question": "?"}]
    result = run_operator(op, rows, serving=serving)
    assert [(r["SQL"], r["variation_type"]) for r in result.kept] == [
        (SEED, "original"), (VARIANTS["change its filtering"], "filter"),
        (VARIANTS["join a related table"], "join"), (None, "original")]
    assert [r["question"] for r in result.kept] == ["Who is French?"] * 3 + ["nothing"]
    assert result.reject_reasons == ["llm: scripted failure"]
    assert result.dropped == []
    assert len(serving.calls) == 8  # the row without SQL is not sent
    assert [c.seed for c in serving.calls[:4]] == [0, 1, 2, 3]
    prompt = user_text(serving.calls[0])
    assert f"Original query:\n{SEED}" in prompt and "add, remove or alter a WHERE" in prompt

    # Without the originals, a row with no usable variation is dropped with the reasons.
    only_new = SQLVariationGenerator(db_root=str(root), num_variations=2, variation_types=("aggregate", "order"),
                                     keep_original=False)
    result = run_operator(only_new, rows[:2], serving=serving)
    assert result.kept == []
    assert result.drop_reasons == ["no usable SQL among 2 candidates: duplicate SQL; error: no such column: ag",
                                   "no SQL to vary"]


def test_the_sql_column_is_rewritten_on_purpose_and_kinds_are_checked():
    op = SQLVariationGenerator(db_root="dbs")
    assert op.output_columns(op.resolve_bindings({})) == ["SQL", "variation_type"]
    assert op.output_columns(op.resolve_bindings({"output_sql_key": "new_sql"})) == ["new_sql", "variation_type"]
    with pytest.raises(ValueError, match="unknown: window"):
        SQLVariationGenerator(db_root="dbs", variation_types=("filter", "window"))

    # Writing the variations over the input's SQL is intended: the plan check does not warn of an overwrite.
    bindings = op.resolve_bindings({})
    problems, _ = check_steps([Step(1, op, bindings, bindings.explicit)], ["db_id", "SQL"])
    assert problems == []


def test_a_bound_question_is_cleared_on_the_variations(tmp_path):
    root = tmp_path / "dbs"
    make_music_db(root)
    op = SQLVariationGenerator(db_root=str(root), num_variations=2, variation_types=("filter", "join"))
    rows = [{"db_id": "music", "SQL": SEED, "question": "Who is French?", "evidence": "French: country = 'France'"}]
    result = run_operator(op, rows, serving=ScriptedServing(respond), output_question_key="question",
                          output_evidence_key="evidence")
    assert [(r["variation_type"], r["question"], r["evidence"]) for r in result.kept] == [
        ("original", "Who is French?", "French: country = 'France'"), ("filter", None, None), ("join", None, None)]
