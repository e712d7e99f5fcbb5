"""AgenticRAGRetriever: top-k passages per query by BM25 (the retriever resource) or by embeddings (the
corpus embedded once per process), with a passage left out per row; run eagerly and from a spec."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dataflow.core.pipeline import Pipeline
from dataflow.lib.retrieval import BM25Index, tokenize
from dataflow.lib.retrieval.resource import Retriever
from dataflow.operators.agentic_rag.retriever import AgenticRAGRetriever
from dataflow.testing import run_operator

CORPUS = {
    "everest": "Mount Everest is the highest mountain on Earth, in the Himalayas.",
    "k2": "K2 is the second highest mountain on Earth, on the China-Pakistan border.",
    "seine": "The Seine is a river that flows through Paris.",
    "louvre": "The Louvre in Paris is the most visited museum in the world.",
    "car": "An automobile is a wheeled motor vehicle used for transport.",
}


def make_retriever() -> Retriever:
    return Retriever(BM25Index(list(CORPUS), list(CORPUS.values())))


def ids(hits: list[dict]) -> list[str]:
    return [h["id"] for h in hits]


def test_bm25_adds_the_top_k_passages_as_dicts_best_first():
    rows = [{"question": "Which is the highest mountain on Earth?"}, {"question": "museum in Paris"},
            {"question": "   "}, {"question": None}, {"question": "What is the the of?"}]
    result = run_operator(AgenticRAGRetriever(k=2, retriever=make_retriever()), rows)
    assert result.written == ["retrieved"] and not result.rejected
    mountain, museum, blank, missing, stop_words = (r["retrieved"] for r in result.kept)
    assert ids(mountain) == ["everest", "k2"] and mountain[0]["score"] > mountain[1]["score"] > 0
    assert mountain[0] == {"id": "everest", "score": mountain[0]["score"], "text": CORPUS["everest"]}
    assert ids(museum)[0] == "louvre" and set(ids(museum)) == {"louvre", "seine"}
    assert blank == missing == stop_words == []  # nothing to search for: no passages, not an error


def test_a_passage_id_per_row_is_left_out():
    rows = [{"question": "highest mountain on Earth", "own": "everest"},
            {"question": "highest mountain on Earth", "own": ["everest", "k2"]},
            {"question": "highest mountain on Earth", "own": None}]
    result = run_operator(AgenticRAGRetriever(k=1, retriever=make_retriever()), rows, input_exclude_key="own")
    assert [ids(r["retrieved"]) for r in result.kept] == [["k2"], [], ["everest"]]


class WordEmbedder:
    """Counts of a few concepts, "car" and "automobile" being one: similarity BM25 cannot see."""

    concepts = [{"car", "automobile", "vehicle"}, {"mountain", "highest"}, {"paris"}, {"museum"}, {"river"}]

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[sum(w in c for w in tokenize(t)) for c in self.concepts] for t in texts], dtype=np.float32)

    def fingerprint(self) -> str:
        return "concepts"


def test_dense_ranks_by_embeddings_and_embeds_the_corpus_once_per_process():
    retriever, embedder = make_retriever(), WordEmbedder()
    op = AgenticRAGRetriever(k=1, method="dense", retriever=retriever)
    assert op.resources == ("retriever", "embedder") and AgenticRAGRetriever.resources == ("retriever",)
    rows = [{"question": "Where can I buy a car?"}, {"question": "river"}]
    assert run_operator(AgenticRAGRetriever(k=1, retriever=retriever), rows[:1]).kept[0]["retrieved"] == []
    first = run_operator(op, rows, embedder=embedder)
    assert [ids(r["retrieved"]) for r in first.kept] == [["car"], ["seine"]]
    assert first.kept[0]["retrieved"][0]["score"] == pytest.approx(1.0)
    assert embedder.calls[0] == list(CORPUS.values()) and embedder.calls[1] == [r["question"] for r in rows]
    # a second chunk: only its queries are embedded, the corpus's vectors are reused
    second = run_operator(op, [{"question": "highest mountain"}], embedder=embedder)
    assert ids(second.kept[0]["retrieved"]) in (["everest"], ["k2"])
    assert embedder.calls[2:] == [["highest mountain"]]
    # another corpus is embedded anew
    other = Retriever(BM25Index(["x"], ["A museum."]))
    run_operator(AgenticRAGRetriever(k=1, method="dense", retriever=other), [{"question": "museum"}],
                 embedder=embedder)
    assert embedder.calls[3] == ["A museum."]


def test_k_must_be_positive():
    with pytest.raises(ValueError, match="k must be"):
        AgenticRAGRetriever(k=0)


def test_a_spec_configures_the_retriever_resource(tmp_path):
    corpus = tmp_path / "passages.jsonl"
    corpus.write_text("".join(json.dumps({"id": pid, "contents": text}) + "\n" for pid, text in CORPUS.items()),
                      encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in [
        {"question": "the second highest mountain", "gold": ["k2"]},
        {"question": "a river through Paris", "gold": ["seine", "louvre"]}]), encoding="utf-8")
    spec = {"input": str(questions), "output": str(tmp_path / "out.jsonl"), "cache_dir": str(tmp_path / "cache"),
            "resources": {"retriever": {"corpus": str(corpus), "index_dir": str(tmp_path / "index")}},
            "steps": [{"op": "AgenticRAGRetriever", "params": {"k": 2}},
                      {"op": "AgenticRAGRetrievalRecallEvaluator", "params": {"k": 1},
                       "run": {"input_gold_key": "gold"}}]}
    Pipeline.from_spec(spec).run()
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [ids(r["retrieved"])[0] for r in rows] == ["k2", "seine"]
    assert [r["retrieval_recall"] for r in rows] == [1.0, 0.5]
    assert any((tmp_path / "index").iterdir())  # the index was saved for the next run


def test_without_index_dir_the_index_is_saved_with_the_pipeline_cache(tmp_path):
    corpus = tmp_path / "passages.jsonl"
    corpus.write_text("".join(json.dumps({"id": pid, "contents": text}) + "\n" for pid, text in CORPUS.items()),
                      encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"question": "the second highest mountain"}) + "\n", encoding="utf-8")
    spec = {"input": str(questions), "output": str(tmp_path / "out.jsonl"), "cache_dir": str(tmp_path / "cache"),
            "resources": {"retriever": {"corpus": str(corpus)}},
            "steps": [{"op": "AgenticRAGRetriever", "params": {"k": 1}}]}
    Pipeline.from_spec(spec).run()
    saved = list((tmp_path / "cache" / "resources" / "retriever").glob("*/passages.json"))
    assert len(saved) == 1
