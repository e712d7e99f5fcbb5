"""Candidate pairs from hash keys, and connected components of the duplicate graph."""

from __future__ import annotations

import numpy as np

from dataflow.lib.dedup.shingles import _segments

# Buckets larger than this emit a "star" (every member paired with the first) instead of all pairs.
_DEFAULT_MAX_BUCKET = 64


def _pairs_from_keys(keys: np.ndarray, max_bucket: int = _DEFAULT_MAX_BUCKET) -> np.ndarray:
    """Index pairs ``(i, j)``, ``i < j``, of entries with equal ``keys``.

    Buckets of up to ``max_bucket`` members emit all pairs; larger buckets emit only a star (every
    member with the bucket's lowest index), which keeps the output linear while leaving the
    connected components unchanged.
    """
    order = np.argsort(keys, kind="stable")
    run_start, _ = _segments(keys[order])
    run_len = np.diff(np.append(run_start, keys.size))
    small = (run_len >= 2) & (run_len <= max_bucket)
    # All pairs inside small buckets: element at offset q of a run of length L pairs with the L-1-q
    # elements after it.
    s_start, s_len = run_start[small], run_len[small]
    elem_pos = np.repeat(s_start, s_len) + _ranges(s_len)
    after = np.repeat(s_len, s_len) - 1 - _ranges(s_len)
    left = np.repeat(elem_pos, after)
    right = left + 1 + _ranges(after)
    # Stars for big buckets.
    big = run_len > max_bucket
    b_start, b_len = run_start[big], run_len[big]
    star_left = np.repeat(b_start, b_len - 1)
    star_right = star_left + 1 + _ranges(b_len - 1)
    i = order[np.concatenate((left, star_left))]
    j = order[np.concatenate((right, star_right))]
    return np.stack((np.minimum(i, j), np.maximum(i, j)), axis=1).astype(np.int64)


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(L)`` for every L in ``lengths``."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    run_first = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) - np.repeat(run_first, lengths)


def _unique_pairs(pairs: np.ndarray, n: int) -> np.ndarray:
    if pairs.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    code = np.unique(pairs[:, 0] * np.int64(n) + pairs[:, 1])
    return np.stack((code // n, code % n), axis=1)


def keyed_pairs(keys: np.ndarray, max_bucket: int = _DEFAULT_MAX_BUCKET) -> np.ndarray:
    """Candidate pairs of a keyed table set: ``keys`` is ``(tables, n)``; rows with equal keys in any
    table pair up (:func:`_pairs_from_keys` per table). ``(k, 2)`` int64, ``i < j``, sorted, unique."""
    keys = np.asarray(keys)
    n = keys.shape[1] if keys.ndim == 2 else 0
    found = [_pairs_from_keys(table, max_bucket) for table in keys]
    return _unique_pairs(np.concatenate(found) if found else np.zeros((0, 2), np.int64), n)


def _estimated_jaccard(signatures: np.ndarray, pairs: np.ndarray, block: int = 1 << 15) -> np.ndarray:
    out = np.empty(len(pairs), dtype=np.float64)
    for lo in range(0, len(pairs), block):
        p = pairs[lo : lo + block]
        out[lo : lo + block] = (signatures[p[:, 0]] == signatures[p[:, 1]]).mean(axis=1)
    return out


def cluster_duplicates(
    n: int,
    pairs: np.ndarray,
    *,
    signatures: np.ndarray | None = None,
    threshold: float | None = None,
) -> np.ndarray:
    """Connected components of the duplicate graph: int64 cluster id per document.

    The cluster id is the lowest document index in the cluster, so the rows to keep are
    ``np.flatnonzero(cluster == np.arange(n))``. With ``signatures`` and ``threshold`` a pair is only
    linked when its estimated Jaccard (fraction of equal MinHash values) is ``>= threshold``.
    Components are found with vectorised hook-and-compress (min-label union-find): every round links
    each edge's larger root to its smaller root and then jumps pointers to the roots.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if (signatures is None) != (threshold is None):
        raise ValueError("pass both signatures and threshold to verify pairs, or neither")
    if signatures is not None and len(pairs):
        pairs = pairs[_estimated_jaccard(np.asarray(signatures), pairs) >= threshold]
    parent = np.arange(n, dtype=np.int64)
    left, right = pairs[:, 0], pairs[:, 1]
    while True:
        root_l, root_r = parent[left], parent[right]
        differ = root_l != root_r
        if not differ.any():
            break
        root_l, root_r = root_l[differ], root_r[differ]
        np.minimum.at(parent, np.maximum(root_l, root_r), np.minimum(root_l, root_r))
        while True:  # pointer jumping until every node points at a root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        left, right = left[differ], right[differ]
    return parent

