"""AgenticRAGRetrievalRecallEvaluator: recall@k of gold passage ids in the retrieved list (dicts as
AgenticRAGRetriever writes them, or plain ids); None where there is no gold passage."""

from __future__ import annotations

import numpy as np
import pytest

from dataflow.operators.agentic_rag.retrieval_recall import AgenticRAGRetrievalRecallEvaluator
from dataflow.testing import run_operator


def hits(*ids: str) -> list[dict]:
    return [{"id": pid, "score": 1.0 / (n + 1), "text": f"passage {pid}"} for n, pid in enumerate(ids)]


ROWS = [
    {"retrieved": hits("a", "b", "c"), "gold_passage_ids": ["a", "c"]},  # c is third
    {"retrieved": hits("x", "b"), "gold_passage_ids": ["b"]},
    {"retrieved": ["d", "e"], "gold_passage_ids": "e"},  # plain ids, one gold id
    {"retrieved": [], "gold_passage_ids": ["a"]},
    {"retrieved": hits("a"), "gold_passage_ids": []},  # nothing to recall
    {"retrieved": np.array(["q", "a"], dtype=object), "gold_passage_ids": np.array(["a"], dtype=object)},
]


def test_recall_counts_gold_ids_among_the_first_k():
    at_2 = run_operator(AgenticRAGRetrievalRecallEvaluator(k=2), ROWS)
    assert at_2.written == ["retrieval_recall"] and not at_2.rejected
    assert [r["retrieval_recall"] for r in at_2.kept] == [0.5, 1.0, 1.0, 0.0, None, 1.0]
    at_1 = run_operator(AgenticRAGRetrievalRecallEvaluator(k=1), ROWS, output_key="recall@1")
    assert [r["recall@1"] for r in at_1.kept] == [0.5, 0.0, 0.0, 0.0, None, 0.0]
    at_3 = run_operator(AgenticRAGRetrievalRecallEvaluator(k=3), ROWS[:1])
    assert at_3.kept[0]["retrieval_recall"] == 1.0


def test_k_must_be_positive():
    with pytest.raises(ValueError, match="k must be"):
        AgenticRAGRetrievalRecallEvaluator(k=0)
