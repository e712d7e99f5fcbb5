"""Text2SQLCoTGenerator with a scripted serving on a real SQLite database: sampled chains of thought, the
ones without a query left out, rows with a failing gold SQL rejected before any call."""

from __future__ import annotations

import pytest

from dataflow.operators.text2sql.cot_generator import Text2SQLCoTGenerator
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, user_text
from tests.operators.text2sql.test_prompt_generator import music_db

pytest.importorskip("sqlglot")

FRANCE = "SELECT name FROM singer WHERE country = 'France'"
ANSWERS = {
    "Which singers are from France?": [
        f"The singer table has the country.\n```sql\n{FRANCE};\n```",
        "The names of the French singers.",  # no query: left out
        "Draft:\n```sql\nSELECT * FROM singer\n```\nOnly names are asked for:\n```sql\nSELECT name FROM singer "
        "WHERE country = \"France\"\n```"],
    "How many singers are there?": ["There are four.", "Count them: 4.", "```python\nprint(4)\n```"],
}


def respond(call):
    question = user_text(call).split("Question: ", 1)[1].split("\n", 1)[0]
    if question == "Down?":
        return None  # the call fails
    return ANSWERS[question][call.seed - 7]


def row(question, sql):
    return {"db_id": "music", "prompt": f"Schema: singer(name, country)\nQuestion: {question}\nAnswer in SQL.",
            "SQL": sql}


def test_candidates_keep_answers_with_a_query(tmp_path):
    serving = ScriptedServing(respond)
    rows = [row("Which singers are from France?", FRANCE),
            row("Which singers are old?", "SELECT name FROM singer WHERE years > 40"),
            row("How many singers are there?", "SELECT count(*) FROM singer"),
            row("Down?", "SELECT 1")]
    result = run_operator(Text2SQLCoTGenerator(db_root=music_db(tmp_path), seed=7), rows, serving=serving)
    assert result.written == ["cot_responses"]
    [kept] = result.kept
    assert kept["cot_responses"] == [ANSWERS["Which singers are from France?"][0],
                                     ANSWERS["Which singers are from France?"][2]]
    assert result.reject_reasons == ["gold SQL fails: error: no such column: years", "no sql block in 3 answers",
                                     "llm: scripted failure"]
    # Three samples per row whose gold runs, at seeds 7, 8, 9 and temperature 0.7; the failing gold is never sent.
    assert len(serving.calls) == 9 and [c.seed for c in serving.calls[:3]] == [7, 8, 9]
    assert {c.temperature for c in serving.calls} == {0.7}
    prompt = user_text(serving.calls[0])
    assert prompt.startswith(rows[0]["prompt"]) and f"```sql\n{FRANCE}\n```" in prompt
    assert "Which singers are old?" not in "".join(user_text(c) for c in serving.calls)


def test_sampling_params_are_checked():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        Text2SQLCoTGenerator(db_root="dbs", temperature=0.0)
    with pytest.raises(ValueError, match="num_candidates"):
        Text2SQLCoTGenerator(db_root="dbs", num_candidates=0)
    assert Text2SQLCoTGenerator(db_root="dbs", num_candidates=1, temperature=0.0).num_candidates == 1
    with pytest.raises(ValueError, match="exactly one of db_root"):
        Text2SQLCoTGenerator()
