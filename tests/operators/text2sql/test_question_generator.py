"""Text2SQLQuestionGenerator on a real SQLite database with a scripted serving: several candidates per query
(one seed each), the most central kept, lexically or by embeddings; existing questions are not asked for."""

from __future__ import annotations

import numpy as np

from dataflow.operators.text2sql.question_generator import (
    Text2SQLQuestionGenerator,
    lexical_similarities,
    most_central,
)
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text
from tests.operators.text2sql.test_sql_generator import make_music_db

SEED = "SELECT name FROM singer WHERE country = 'France'"
CANDIDATES = [  # by seed: an outlier first, then two that agree
    ("How many concerts were held in 2014?", "none"),
    ("What are the names of the singers from France?", ""),
    ("What are the names of singers whose country is France?", "France is written in full"),
]


def respond(call):
    if "FROM broken" in user_text(call):
        return None
    question, knowledge = CANDIDATES[call.seed]
    return as_json(question=question, external_knowledge=knowledge)


ROWS = [
    {"db_id": "music", "SQL": SEED, "question": None, "evidence": None},
    {"db_id": "music", "SQL": SEED, "question": "Who sings in France?", "evidence": "kept as given"},
    {"db_id": "nowhere", "SQL": SEED, "question": "", "evidence": None},
    {"db_id": "music", "SQL": "SELECT 1 FROM broken", "question": " ", "evidence": None},
    {"db_id": "music", "SQL": None, "question": None, "evidence": None},
]


def test_the_most_central_candidate_is_kept_and_given_questions_stay(tmp_path):
    root = tmp_path / "dbs"
    make_music_db(root)
    serving = ScriptedServing(respond)
    op = Text2SQLQuestionGenerator(db_root=str(root))
    assert op.resources == ("llm",)
    result = run_operator(op, ROWS, serving=serving)
    assert [(r["question"], r["evidence"]) for r in result.kept] == [
        ("What are the names of the singers from France?", ""),
        ("Who sings in France?", "kept as given"),
        (None, None)]
    assert result.reject_reasons[0] == "database: no database 'nowhere' under " + str(root)
    assert result.reject_reasons[1] == "llm: scripted failure"
    # Three candidates for each of the two queries sent, one seed each.
    assert [c.seed for c in serving.calls] == [0, 1, 2, 0, 1, 2]
    assert {c.temperature for c in serving.calls} == {0.7}
    prompt = user_text(serving.calls[0])
    assert f"SQL query:\n{SEED}" in prompt and 'CREATE TABLE "singer"' in prompt
    assert "first rows):\nname\nJoe Sharp\nRose White" in prompt


def test_embedding_similarity_asks_the_embedder_once_per_batch(tmp_path):
    root = tmp_path / "dbs"
    make_music_db(root)
    vectors = {CANDIDATES[0][0]: [1.0, 1.0], CANDIDATES[1][0]: [1.0, 0.0], CANDIDATES[2][0]: [0.0, 1.0]}

    class Embedder:
        def __init__(self):
            self.calls = []

        def embed(self, texts):
            self.calls.append(list(texts))
            return np.array([vectors[t] for t in texts])

    embedder = Embedder()
    op = Text2SQLQuestionGenerator(db_root=str(root), similarity="embedding")
    assert op.resources == ("llm", "embedder")
    rows = [ROWS[0], {**ROWS[0], "SQL": SEED + " ORDER BY age"}]
    result = run_operator(op, rows, serving=ScriptedServing(respond), embedder=embedder)
    # [1, 1] is the nearest to both others, although it shares no word with them.
    assert [r["question"] for r in result.kept] == [CANDIDATES[0][0]] * 2
    assert embedder.calls == [[q for q, _ in CANDIDATES] * 2]


def test_centrality():
    sims = lexical_similarities(["a b c", "a b d", "x y z", ""])
    assert sims[0, 1] == 0.5 and sims[0, 2] == 0.0 and sims[3, 3] == 1.0
    assert most_central(sims[:3, :3]) == 0  # 0 and 1 tie: the earliest
    assert most_central(np.array([[1.0, 0.2, 0.9], [0.2, 1.0, 0.1], [0.9, 0.1, 1.0]])) == 0
    assert most_central(np.array([[1.0, 0.1, 0.2], [0.1, 1.0, 0.9], [0.2, 0.9, 1.0]])) == 2
    assert most_central(np.ones((1, 1))) == 0
