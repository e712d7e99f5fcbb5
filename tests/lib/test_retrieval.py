"""dataflow.lib.retrieval: BM25 and dense indexes, recall@k, and the "retriever" resource (passage files in
every format, errors that name the file, the index saved to index_dir and reused while the corpus is
unchanged)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from dataflow.lib.retrieval import BM25Index, DenseIndex, Hit, recall_at_k, tokenize
from dataflow.lib.retrieval import resource as retrieval_resource
from dataflow.lib.retrieval.resource import (
    Retriever,
    check_retriever_config,
    create_retriever,
    read_corpus,
    retriever_fingerprint,
)

PASSAGES = {
    "p1": "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.",
    "p2": "Mount Everest is the highest mountain above sea level, in the Himalayas.",
    "p3": "Paris is the capital and most populous city of France.",
    "p4": "The Great Wall of China was built across northern China over many centuries.",
    "p5": "Lattice towers carry power lines; the Eiffel Tower is the most famous lattice tower.",
}
IDS, TEXTS = list(PASSAGES), list(PASSAGES.values())


def ids_of(hits: list[Hit]) -> list[str]:
    return [h.id for h in hits]


def test_tokenize_lowercases_and_leaves_out_stop_words():
    assert tokenize("The Eiffel Tower, in PARIS!") == ["eiffel", "tower", "paris"]
    assert tokenize("the and of") == []


def test_bm25_ranks_the_passage_that_shares_the_rare_words_first():
    index = BM25Index(IDS, TEXTS)
    [everest, paris, china] = index.search(["highest mountain", "capital city of France", "Great Wall"], k=3)
    assert ids_of(everest) == ["p2"]  # no other passage has either word
    assert ids_of(paris)[0] == "p3" and set(ids_of(paris)) <= {"p1", "p3"}
    assert ids_of(china) == ["p4"]
    assert everest[0].text == PASSAGES["p2"] and everest[0].score > 0
    assert everest[0].as_dict() == {"id": "p2", "score": everest[0].score, "text": PASSAGES["p2"]}


def test_bm25_returns_at_most_k_best_first_and_leaves_out_excluded_ids():
    index = BM25Index(IDS, TEXTS)
    [hits] = index.search(["Eiffel lattice tower"], k=5)
    assert set(ids_of(hits)) == {"p1", "p5"}  # only the passages that match at all
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(index.search(["Eiffel lattice tower"], k=1)[0]) == 1
    [without_p5, without_both] = index.search(["Eiffel lattice tower"] * 2, k=1, exclude=[["p5"], ["p1", "p5"]])
    assert ids_of(without_p5) == ["p1"]
    assert without_both == []


def test_bm25_gives_no_hits_for_queries_without_indexable_words_and_for_an_empty_corpus():
    index = BM25Index(IDS, TEXTS)
    assert index.search(["", "the of and", "zebra quokka", "Paris"], k=2)[:3] == [[], [], []]
    assert index.search([], k=2) == []
    assert BM25Index([], []).search(["Paris"]) == [[]]
    # an empty passage is indexed (a placeholder token) and never found
    index = BM25Index(["a", "b"], ["", "quokka island"])
    assert ids_of(index.search(["quokka"])[0]) == ["b"]


def test_bm25_rejects_duplicate_ids_and_mismatched_lengths():
    with pytest.raises(ValueError, match="unique"):
        BM25Index(["a", "a"], ["x", "y"])
    with pytest.raises(ValueError, match="length"):
        BM25Index(["a"], ["x", "y"])


def test_bm25_save_and_load_answer_the_same(tmp_path):
    index = BM25Index(IDS, TEXTS, k1=1.2, b=0.5)
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    queries = ["Eiffel Tower Paris", "China wall", "power lines"]
    assert loaded.search(queries, k=3) == index.search(queries, k=3)
    assert (loaded.k1, loaded.b, len(loaded)) == (1.2, 0.5, 5)
    BM25Index([], []).save(tmp_path / "empty")  # an empty corpus saves and loads too
    assert BM25Index.load(tmp_path / "empty").search(["Paris"]) == [[]]


VOCAB = ["tower", "paris", "mountain", "china", "wall", "capital"]


def toy_embed(texts: list[str]) -> np.ndarray:
    """Counts of a few words: cosine similarity then follows the shared words."""
    return np.array([[tokenize(t).count(w) for w in VOCAB] for t in texts], dtype=np.float32)


def test_dense_index_ranks_by_cosine_similarity_and_leaves_out_excluded_ids():
    calls = []

    def embed(texts):
        calls.append(list(texts))
        return toy_embed(texts)

    index = DenseIndex(IDS, TEXTS, embed)
    assert calls == [TEXTS]  # the passages are embedded once, when the index is built
    [tower, wall] = index.search(["tower tower", "wall china"], k=2)
    assert ids_of(tower) == ["p5", "p1"]  # p5 has no other word of the vocabulary, p1 also "paris"
    assert tower[0].score == pytest.approx(1.0)
    assert ids_of(wall)[0] == "p4" and wall[0].score == pytest.approx(3 / 10**0.5)  # (1, 2) . (1, 1)
    [excluded] = index.search(["tower tower"], k=2, exclude=[["p5"]])
    assert ids_of(excluded)[0] == "p1" and "p5" not in ids_of(excluded)
    assert len(index.search(["capital"], k=10)[0]) == 5  # every passage has a similarity
    assert index.search([], k=2) == [] and DenseIndex([], [], embed).search(["paris"]) == [[]]


def test_recall_at_k_counts_the_gold_ids_among_the_first_k():
    assert recall_at_k(["a", "b", "c"], ["b", "d"], 2) == 0.5
    assert recall_at_k(["a", "b", "c"], ["c", "a"], 2) == 0.5
    assert recall_at_k(["a", "b", "c"], ["c", "a"], 3) == 1.0
    assert recall_at_k([], ["a"], 5) == 0.0
    assert recall_at_k(["a"], [], 5) is None  # nothing to recall


# ---------------------------------------------------------------------------------- the resource

RECORDS = [{"id": pid, "title": f"T{n}", "contents": text} for n, (pid, text) in enumerate(PASSAGES.items())]


def write(path, records, how):
    frame = pd.DataFrame(records)
    if how == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    elif how == "json":
        path.write_text(json.dumps(records), encoding="utf-8")
    elif how == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("how", ["jsonl", "json", "csv", "parquet"])
def test_read_corpus_reads_every_format(tmp_path, how):
    path = write(tmp_path / f"passages.{how}", RECORDS, how)
    assert read_corpus(path) == (IDS, TEXTS)
    ids, texts = read_corpus(path, title_key="title")
    assert texts[0] == "T0\n" + PASSAGES["p1"]


def test_read_corpus_ids_default_to_row_numbers_and_other_columns_can_be_named(tmp_path):
    path = write(tmp_path / "p.jsonl", [{"text": "alpha"}, {"text": "beta"}], "jsonl")
    assert read_corpus(path, text_key="text") == (["0", "1"], ["alpha", "beta"])
    path = write(tmp_path / "q.jsonl", [{"pid": 7, "text": "alpha"}, {"pid": 9, "text": None}], "jsonl")
    assert read_corpus(path, id_key="pid", text_key="text") == (["7", "9"], ["alpha", ""])


def test_read_corpus_errors_name_the_file_and_the_problem(tmp_path):
    no_text = write(tmp_path / "no_text.jsonl", [{"id": "a", "body": "x"}], "jsonl")
    with pytest.raises(ValueError, match=r"no_text\.jsonl: no column 'contents' \(columns: id, body\)"):
        read_corpus(no_text)
    twice = write(tmp_path / "twice.jsonl", [{"id": "a", "contents": "x"}, {"id": "a", "contents": "y"}], "jsonl")
    with pytest.raises(ValueError, match=r"twice\.jsonl: passage ids in 'id' are not unique"):
        read_corpus(twice)
    with pytest.raises(ValueError, match=r"passages\.txt: unknown passage file type \.txt"):
        read_corpus(tmp_path / "passages.txt")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "contents": \n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.jsonl: cannot read the corpus"):
        read_corpus(broken)
    with pytest.raises(ValueError, match=r"missing\.jsonl: cannot read the corpus"):
        read_corpus(tmp_path / "missing.jsonl")


def test_retriever_searches_and_finds_passages_by_id(tmp_path):
    retriever = create_retriever({"corpus": str(write(tmp_path / "p.jsonl", RECORDS, "jsonl"))})
    assert isinstance(retriever, Retriever) and retriever.ids == IDS and len(retriever) == 5
    assert retriever.passage("p3") == PASSAGES["p3"] and retriever.passage("nope") is None
    assert ids_of(retriever.search(["highest mountain"], k=1)[0]) == ["p2"]
    assert ids_of(retriever.search(["Eiffel tower"], k=5, exclude=[["p1"]])[0]) == ["p5"]


def test_retriever_config_errors_and_checks(tmp_path):
    with pytest.raises(ValueError, match="unknown retriever setting"):
        create_retriever({"corpus": "x.jsonl", "top_k": 3})
    with pytest.raises(ValueError, match="needs corpus"):
        create_retriever(None)
    assert check_retriever_config({"corpus": str(tmp_path / "none.jsonl")}).startswith("retriever corpus not found")
    assert "needs corpus" in check_retriever_config({})
    path = write(tmp_path / "p.jsonl", RECORDS, "jsonl")
    assert check_retriever_config({"corpus": str(path)}) is None


def test_index_dir_is_reused_while_the_corpus_is_unchanged(tmp_path, monkeypatch):
    path = write(tmp_path / "p.jsonl", RECORDS, "jsonl")
    config = {"corpus": str(path), "index_dir": str(tmp_path / "indexes")}
    first = create_retriever(config)
    saved = tmp_path / "indexes" / retriever_fingerprint(config)
    assert (saved / "passages.json").is_file()

    def no_reading(*args, **kwargs):
        raise AssertionError("the corpus was read again")

    monkeypatch.setattr(retrieval_resource, "read_corpus", no_reading)
    again = create_retriever(config)  # loaded from index_dir, the corpus file not read
    assert again.ids == first.ids and again.search(["Great Wall"], k=2) == first.search(["Great Wall"], k=2)
    monkeypatch.undo()

    # A changed corpus (size and modification time) gets a new key: the index is built anew.
    write(path, RECORDS + [{"id": "p6", "title": "T5", "contents": "The Great Wall is long."}], "jsonl")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert retriever_fingerprint(config) != saved.name
    changed = create_retriever(config)
    assert "p6" in changed.ids and ids_of(changed.search(["Great Wall long"], k=1)[0]) == ["p6"]
    # How the file is read is part of the key too.
    assert retriever_fingerprint({**config, "title_key": "title"}) != retriever_fingerprint(config)


def test_a_retriever_instance_is_fingerprinted_by_its_passages():
    from dataflow.core.resources import resource_fingerprint

    same = [Retriever(BM25Index(IDS, TEXTS)), Retriever(BM25Index(IDS, TEXTS))]
    assert resource_fingerprint("retriever", same[0]) == resource_fingerprint("retriever", same[1])
    edited = Retriever(BM25Index(IDS, TEXTS[:-1] + ["another text"]))
    renamed = Retriever(BM25Index(IDS[:-1] + ["p9"], TEXTS))
    tuned = Retriever(BM25Index(IDS, TEXTS, k1=1.2))
    prints = {r.fingerprint() for r in [same[0], edited, renamed, tuned]}
    assert len(prints) == 4 and all(p.startswith("retriever:") for p in prints)
