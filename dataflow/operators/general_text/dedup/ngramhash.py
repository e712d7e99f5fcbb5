"""Near duplicates by the exact Jaccard similarity of hashed n-gram sets."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from dataflow.core.errors import ParamsError
from dataflow.core.operator import OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.dedup.ngram import NgramHashSets, ngram_hash_signatures, ngram_overlap_pairs
from dataflow.lib.dedup.pairs import cluster_duplicates
from dataflow.operators.general_text.dedup._base import ClusterDedup, Clusters, Mode


def _to_uint32_sets(sets: NgramHashSets) -> tuple[np.ndarray, np.ndarray]:
    """Keep the top 32 bits of every n-gram hash (half the memory) and re-deduplicate each set.

    Sorted uint64 sets stay sorted after the shift; two n-grams of one document that now collide are
    merged. For similarity between documents a 32-bit collision is negligible (a few hundred n-grams
    against 2**32 values).
    """
    hashes = (np.asarray(sets.hashes, dtype=np.uint64) >> np.uint64(32)).astype(np.uint32)
    sizes = np.diff(sets.offsets)
    doc = np.repeat(np.arange(len(sizes)), sizes)
    fresh = np.ones(hashes.size, dtype=bool)
    fresh[1:] = (hashes[1:] != hashes[:-1]) | (doc[1:] != doc[:-1])
    return hashes[fresh], np.bincount(doc[fresh], minlength=len(sizes)).astype(np.int64)


@register_operator
class NgramHashDeduplicateFilter(ClusterDedup):
    """Drop near-duplicate texts whose hashed n-gram sets have Jaccard similarity >= ``threshold``.

    Unlike MinHash the similarity is exact (on the hashed sets): every word (or character) ``ngram``
    of the normalised text is hashed and kept (4 bytes per distinct n-gram per row in the scan state),
    and all pairs above ``threshold`` are found with a prefix-filtered similarity join. Linked rows
    form clusters; the first row of each, in input order, is kept (``mode="drop_all"`` drops whole
    clusters) and ``output_key`` gets every row's representative. Exact but heavier than MinHash:
    good for up to a few hundred thousand documents, or as a precise second pass.
    """

    output_key = OutputColumn("ngram_cluster", "str",
                              description="row id of the kept representative of the row's cluster")

    def __init__(self, threshold: float = 0.8, ngram: int = 5, tokenize: Literal["word", "char"] = "word",
                 mode: Mode = "keep_one") -> None:
        super().__init__(mode=mode)
        if not 0.0 < threshold <= 1.0:
            raise ParamsError(f"{self.op_name()}: threshold must be in (0, 1], got {threshold}")
        self.threshold, self.ngram, self.tokenize = threshold, ngram, tokenize

    @property
    def drop_reason(self) -> str:
        return f"ngram duplicate (jaccard >= {self.threshold:g})"

    def signatures(self, texts: list[str], ctx: Any) -> tuple[np.ndarray, np.ndarray]:
        return _to_uint32_sets(ngram_hash_signatures(texts, ngram=self.ngram, tokenize=self.tokenize))

    def clusters(self, signatures: list[Any], n: int) -> Clusters:
        hashes = np.concatenate([h for h, _ in signatures]) if signatures else np.zeros(0, np.uint32)
        sizes = np.concatenate([s for _, s in signatures]) if signatures else np.zeros(0, np.int64)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        pairs, _ = ngram_overlap_pairs(NgramHashSets(hashes.astype(np.uint64), offsets),
                                       threshold=self.threshold)
        return Clusters(cluster_duplicates(n, pairs), {"linked_pairs": len(pairs)})
