"""N-gram hash sets with an exact Jaccard similarity join."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from dataflow.lib.dedup.pairs import _pairs_from_keys, _ranges, _unique_pairs
from dataflow.lib.dedup.shingles import Tokenize, _shingle_chunks

_U64 = np.uint64


class NgramHashSets(NamedTuple):
    """Per-document sets of 64-bit n-gram hashes in CSR layout.

    Document i's set is ``hashes[offsets[i]:offsets[i+1]]`` (sorted ascending, no repeats).
    """

    hashes: np.ndarray
    offsets: np.ndarray


def ngram_hash_signatures(
    texts: Sequence[str],
    *,
    ngram: int = 5,
    tokenize: Tokenize = "word",
    normalize: bool = True,
) -> NgramHashSets:
    """The set of hashed word/char ``ngram``-grams of every text (see :class:`NgramHashSets`).

    Unlike MinHash this keeps every n-gram, so :func:`ngram_overlap_pairs` computes the exact Jaccard
    similarity of the hashed sets (memory: 8 bytes per distinct n-gram per document).
    """
    parts, sizes = [], np.zeros(len(texts), dtype=np.int64)
    for start, _stop, hashes, shingle_doc in _shingle_chunks(texts, ngram, tokenize, normalize):
        order = np.lexsort((hashes, shingle_doc))
        h, d = hashes[order], shingle_doc[order]
        fresh = np.ones(h.size, dtype=bool)
        fresh[1:] = (h[1:] != h[:-1]) | (d[1:] != d[:-1])
        h, d = h[fresh], d[fresh]
        parts.append(h)
        sizes[start : start + (_stop - start)] = np.bincount(d, minlength=_stop - start)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    hashes = np.concatenate(parts) if parts else np.zeros(0, dtype=_U64)
    return NgramHashSets(hashes.astype(_U64), offsets)


def ngram_overlap_pairs(
    sets: NgramHashSets,
    *,
    threshold: float = 0.8,
    max_bucket: int = 1024,
    verify_block: int = 1 << 20,
) -> tuple[np.ndarray, np.ndarray]:
    """All document pairs whose n-gram hash sets have Jaccard ``>= threshold``.

    Returns ``(pairs (k, 2) int64 with i < j, jaccard (k,) float64)``. Exact similarity join with
    prefix filtering (Chaudhuri et al. 2006; Bayardo et al. 2007): order all n-grams globally, rarest
    first; if ``J(A, B) >= t`` then the first ``|A| - ceil(t*|A|) + 1`` n-grams of A and the first
    ``|B| - ceil(t*|B|) + 1`` of B share at least one n-gram, so only documents sharing a prefix
    n-gram become candidates, and every candidate's intersection is then counted exactly (vectorised
    binary search). Empty sets never match. A prefix n-gram shared by more than ``max_bucket``
    documents contributes a star of candidates (see :func:`lsh_candidate_pairs`), which can hide some
    pairs inside very large duplicate groups but never changes which groups are connected.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    hashes, offsets = np.asarray(sets.hashes, dtype=_U64), np.asarray(sets.offsets, dtype=np.int64)
    n = offsets.size - 1
    sizes = np.diff(offsets)
    empty = (np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.float64))
    if hashes.size == 0:
        return empty
    distinct, inverse, frequency = np.unique(hashes, return_inverse=True, return_counts=True)
    # Rank of an n-gram in the global order (rarest first, ties by hash value).
    rank_of_distinct = np.empty(distinct.size, dtype=np.int64)
    rank_of_distinct[np.lexsort((distinct, frequency))] = np.arange(distinct.size)
    ranks = rank_of_distinct[inverse.reshape(-1)]
    doc_of = np.repeat(np.arange(n, dtype=np.int64), sizes)
    order = np.lexsort((ranks, doc_of))
    ranks_sorted = ranks[order]  # per document, ascending rank
    prefix_len = sizes - np.ceil(threshold * sizes - 1e-9).astype(np.int64) + 1
    position = np.arange(hashes.size) - offsets[doc_of]
    in_prefix = position < prefix_len[doc_of]
    candidate_idx = _pairs_from_keys(ranks_sorted[in_prefix], max_bucket)
    prefix_docs = doc_of[in_prefix]
    candidates = np.stack((prefix_docs[candidate_idx[:, 0]], prefix_docs[candidate_idx[:, 1]]), axis=1)
    candidates = candidates[candidates[:, 0] != candidates[:, 1]]
    candidates = _unique_pairs(np.sort(candidates, axis=1), n)
    # Length filter: J >= t needs min(|A|,|B|) >= t * max(|A|,|B|).
    size_a, size_b = sizes[candidates[:, 0]], sizes[candidates[:, 1]]
    candidates = candidates[np.minimum(size_a, size_b) >= threshold * np.maximum(size_a, size_b) - 1e-9]
    if len(candidates) == 0:
        return empty
    # Exact intersection: look up every element of the smaller set in the larger one. Keys
    # doc * R + rank are globally sorted because ranks_sorted is sorted inside each document.
    span = np.int64(distinct.size)
    global_key = doc_of * span + ranks_sorted
    small = np.where(sizes[candidates[:, 0]] <= sizes[candidates[:, 1]], candidates[:, 0], candidates[:, 1])
    large = candidates[:, 0] + candidates[:, 1] - small
    intersection = np.zeros(len(candidates), dtype=np.int64)
    pair_lo = 0
    small_sizes = sizes[small]
    while pair_lo < len(candidates):
        # Take as many pairs as fit into verify_block looked-up elements (at least one pair).
        cum = np.cumsum(small_sizes[pair_lo:])
        pair_hi = pair_lo + max(1, int(np.searchsorted(cum, verify_block, side="right")))
        sel = slice(pair_lo, pair_hi)
        lengths = small_sizes[sel]
        elem = np.repeat(offsets[small[sel]], lengths) + _ranges(lengths)
        query = np.repeat(large[sel], lengths) * span + ranks_sorted[elem]
        hit = global_key[np.minimum(np.searchsorted(global_key, query), global_key.size - 1)] == query
        intersection[sel] = np.add.reduceat(hit, np.cumsum(lengths) - lengths, dtype=np.int64)
        pair_lo = pair_hi
    union = sizes[candidates[:, 0]] + sizes[candidates[:, 1]] - intersection
    jaccard = intersection / np.maximum(union, 1)
    keep = jaccard >= threshold - 1e-12
    return candidates[keep], jaccard[keep]

