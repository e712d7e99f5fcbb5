"""Semantic near duplicates: cosine similarity of text embeddings."""

from __future__ import annotations

from typing import Any

import numpy as np

from dataflow.core.errors import ParamsError
from dataflow.core.operator import OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.dedup.pairs import cluster_duplicates
from dataflow.lib.dedup.semantic import semantic_duplicate_pairs
from dataflow.operators.general_text.dedup._base import ClusterDedup, Clusters, Mode


@register_operator
class SemDeduplicateFilter(ClusterDedup):
    """Drop texts whose embedding has cosine similarity >= ``1 - eps`` with an earlier text's.

    The embeddings come from the pipeline's embedder (``ctx.embedder``: the packaged MiniLM model of
    the ``embeddings`` extra by default, or an OpenAI-compatible endpoint; an ``embedder`` object may
    also be passed directly). They are computed during the scan (``batch_size`` texts per call) and
    kept L2-normalised as float32, then all pairs above the similarity are found block by block (memory
    ``2048 x rows``, time quadratic in the number of rows: meant for up to ~10^5 rows). Linked rows
    form clusters; the first row of each, in input order, is kept (``mode="drop_all"`` drops whole
    clusters) and ``output_key`` gets every row's representative. Catches paraphrases that n-gram
    methods miss, and also merges texts that are merely on the same topic if ``eps`` is too large.
    """

    resources = ("embedder",)
    output_key = OutputColumn("semantic_cluster", "str",
                              description="row id of the kept representative of the row's cluster")

    def __init__(self, eps: float = 0.05, batch_size: int = 64, mode: Mode = "keep_one",
                 embedder: Any = None) -> None:
        super().__init__(mode=mode)
        if not 0.0 <= eps < 2.0:
            raise ParamsError(f"{self.op_name()}: eps must be in [0, 2), got {eps}")
        if batch_size < 1:
            raise ParamsError(f"{self.op_name()}: batch_size must be >= 1")
        self.eps, self.batch_size, self.embedder = eps, batch_size, embedder

    @property
    def drop_reason(self) -> str:
        return f"semantic duplicate (cosine >= {1 - self.eps:g})"

    def signatures(self, texts: list[str], ctx: Any) -> np.ndarray:
        parts = [np.asarray(ctx.embedder.embed(texts[lo:lo + self.batch_size]), dtype=np.float32)
                 for lo in range(0, len(texts), self.batch_size)]
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        emb = np.concatenate(parts)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        unit = np.divide(emb, norms, out=np.zeros_like(emb), where=norms > 0)
        return unit

    def clusters(self, signatures: list[Any], n: int) -> Clusters:
        parts = [s for s in signatures if len(s)]
        if not parts:
            return Clusters(np.arange(n, dtype=np.int64), {"linked_pairs": 0})
        pairs = semantic_duplicate_pairs(np.concatenate(parts), 1.0 - self.eps)
        return Clusters(cluster_duplicates(n, pairs), {"linked_pairs": len(pairs)})


@register_operator
class SemHashDeduplicateFilter(SemDeduplicateFilter):
    """Alias of :class:`SemDeduplicateFilter` (semantic dedup on embeddings; same params)."""
