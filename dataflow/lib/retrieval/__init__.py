"""Passage retrieval for RAG data: a BM25 index (bm25s), an optional dense index over any embedding
function, and recall of gold passages.

A pure library: it imports nothing from ``dataflow.operators`` or ``dataflow.serving``; ``bm25s`` (the
``rag`` extra) is imported on first use.
"""

from dataflow.lib.retrieval.index import BM25Index, DenseIndex, Hit, recall_at_k, tokenize

__all__ = ["BM25Index", "DenseIndex", "Hit", "recall_at_k", "tokenize"]
