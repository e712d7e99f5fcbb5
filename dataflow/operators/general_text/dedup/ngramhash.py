"""Near duplicates by the exact Jaccard similarity of hashed n-gram sets."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from dataflow.core.errors import ParamsError
from dataflow.core.operator import OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.dedup.ngram import NgramHashSets, ngram_hash_signatures, ngram_overlap_pairs
from dataflow.lib.dedup.pairs import _ranges, cluster_duplicates
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

    # A cluster executor runs the same prefix-filter join in pieces (dataflow.lib.dedup.shuffle); these
    # hooks give it the sets and the same check of a candidate.
    prefix_join = True
    prefix_max_bucket = 1024  # ngram_overlap_pairs' default

    def token_sets(self, signatures: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        hashes, sizes = signatures
        return np.asarray(hashes, dtype=np.uint64), np.asarray(sizes, dtype=np.int64)

    def concat_signatures(self, signatures: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        if not signatures:
            return np.zeros(0, np.uint32), np.zeros(0, np.int64)
        return np.concatenate([h for h, _ in signatures]), np.concatenate([s for _, s in signatures])

    def take_signatures(self, signatures: Any, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hashes, sizes = signatures
        offsets = np.r_[0, np.cumsum(sizes)]
        taken = sizes[positions]
        elements = np.repeat(offsets[positions], taken) + _ranges(taken)
        return hashes[elements], taken

    def linked_mask(self, sig_a: Any, sig_b: Any, index_a: np.ndarray, index_b: np.ndarray,
                    block: int = 1 << 20) -> np.ndarray:
        """Candidates whose sets (CSR ``sig_a``) pass the length filter and have Jaccard >= threshold,
        computed as :func:`ngram_overlap_pairs` does (exact counts, same tolerances)."""
        hashes, sizes = sig_a
        offsets = np.r_[0, np.cumsum(sizes)]
        a, b = index_a[:, 0], index_b[:, 1]
        size_a, size_b = sizes[a], sizes[b]
        intersection = np.zeros(len(a), dtype=np.int64)
        lo = 0
        while lo < len(a):  # as many pairs as fit in ``block`` elements (at least one)
            cum = np.cumsum(size_a[lo:] + size_b[lo:])
            hi = lo + max(1, int(np.searchsorted(cum, block, side="right")))
            pair = np.arange(lo, hi, dtype=np.int64)
            parts = []
            for rows, lengths in ((a[lo:hi], size_a[lo:hi]), (b[lo:hi], size_b[lo:hi])):
                elements = np.repeat(offsets[rows], lengths) + _ranges(lengths)
                parts.append((np.repeat(pair, lengths).astype(np.uint64) << np.uint64(32))
                             | hashes[elements].astype(np.uint64))
            keys = np.sort(np.concatenate(parts))
            twice = keys[1:][keys[1:] == keys[:-1]] >> np.uint64(32)  # in both sets (no repeats within one)
            np.add.at(intersection, twice.astype(np.int64), 1)
            lo = hi
        union = size_a + size_b - intersection
        jaccard = intersection / np.maximum(union, 1)
        long_enough = np.minimum(size_a, size_b) >= self.threshold * np.maximum(size_a, size_b) - 1e-9
        return long_enough & (jaccard >= self.threshold - 1e-12)

    def clusters(self, signatures: list[Any], n: int) -> Clusters:
        hashes = np.concatenate([h for h, _ in signatures]) if signatures else np.zeros(0, np.uint32)
        sizes = np.concatenate([s for _, s in signatures]) if signatures else np.zeros(0, np.int64)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        pairs, _ = ngram_overlap_pairs(NgramHashSets(hashes.astype(np.uint64), offsets),
                                       threshold=self.threshold)
        return Clusters(cluster_duplicates(n, pairs), {"linked_pairs": len(pairs)})
