"""Top-k passages of a corpus for a query column, by BM25 or by embedding similarity."""

from __future__ import annotations

import threading
import weakref
from typing import Any, Literal

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import text_of
from dataflow.core.operator import Generator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator

# Dense indexes built in this process, per retriever (weakly held: it goes with its corpus) and embedder.
_DENSE: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_DENSE_LOCK = threading.Lock()


def dense_index(retriever: Any, embedder: Any) -> Any:
    """The :class:`~dataflow.lib.retrieval.DenseIndex` of ``retriever``'s passages embedded by
    ``embedder``, built on first use in this process and reused by every chunk after."""
    from dataflow.lib.retrieval import DenseIndex

    fingerprint = getattr(embedder, "fingerprint", None)
    key = str(fingerprint()) if callable(fingerprint) else f"id:{id(embedder)}"
    with _DENSE_LOCK:  # threads of one executor share it: embed the corpus once
        by_embedder = _DENSE.setdefault(retriever, {})
        if key not in by_embedder:
            texts = [retriever.passage(pid) or "" for pid in retriever.ids]
            by_embedder[key] = DenseIndex(retriever.ids, texts, embedder.embed)
        return by_embedder[key]


def excluded_ids(value: Any) -> list[str]:
    """The passage ids a row asks to leave out: one id, a list of ids, or none (None/NaN/empty)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value if text_of(v)]
    return [text_of(value)] if text_of(value) else []


@register_operator
class AgenticRAGRetriever(Generator):
    """Adds the top ``k`` passages of the corpus for each row's query (``input_key``) to ``output_key``, a
    list of ``{id, score, text}``, best first.

    The corpus is the pipeline's ``retriever`` resource (``resources: {retriever: {corpus: passages.jsonl}}``
    in a spec) or the operator's own ``retriever`` param. ``method="bm25"`` ranks by the corpus's BM25
    index; ``method="dense"`` by cosine similarity of embeddings from the ``embedder`` resource (the
    packaged MiniLM or an OpenAI-compatible ``/embeddings`` endpoint): the corpus is embedded once per
    process, the first time a chunk needs it. ``input_exclude_key`` (optional) names a column holding,
    per row, a passage id (or a list of ids) to leave out, e.g. the passage a question was written from.
    A row without a query, or whose query has no indexable word, gets an empty list; fewer than ``k``
    passages come back when fewer match.
    """

    resources = ("retriever",)
    input_key = InputColumn("question", "str", nullable=True)
    input_exclude_key = InputColumn(None, "any", nullable=True, description="passage id(s) to leave out")
    output_key = OutputColumn("retrieved", "list")

    def __init__(self, k: int = 5, method: Literal["bm25", "dense"] = "bm25", retriever: Any = None,
                 embedder: Any = None) -> None:
        super().__init__()
        if k < 1:
            raise ValueError("k must be at least 1")
        self.k, self.method = k, method
        self.retriever, self.embedder = retriever, embedder
        if method == "dense":
            self.resources = ("retriever", "embedder")

    def generate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        cols = ctx.cols
        if batch.empty:  # nothing to ask: build no index
            return {cols.output_key: []}
        queries = [text_of(q).strip() for q in batch[cols.input_key].tolist()]
        exclude = ([excluded_ids(v) for v in batch[cols.input_exclude_key].tolist()]
                   if cols.get("input_exclude_key") else None)
        retriever = ctx.resource("retriever")
        index = dense_index(retriever, ctx.resource("embedder")) if self.method == "dense" else retriever
        asked = [i for i, q in enumerate(queries) if q]
        found = index.search([queries[i] for i in asked], self.k,
                             exclude=[exclude[i] for i in asked] if exclude is not None else None)
        hits: list[list[dict[str, Any]]] = [[] for _ in queries]
        for i, row_hits in zip(asked, found):
            hits[i] = [h.as_dict() for h in row_hits]
        return {cols.output_key: hits}
