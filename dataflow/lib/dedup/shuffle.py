"""Candidate pairs of a keyed dedup computed in pieces: the hash shuffle a cluster executor runs.

A keyed dedup gives every row one uint64 key per table (MinHash: one per LSH band; SimHash: one per
block table; exact: one table of text hashes); rows with equal keys in a table are candidates
(:func:`~dataflow.lib.dedup.pairs.keyed_pairs` does it for a whole dataset in one process). Split over
a cluster it takes three steps, each of which sees only a part of the dataset:

1. :func:`shard_keys` (one task per chunk): the chunk's keys cut into ``partitions`` shards by a hash of
   (table, key). Rows are named by :func:`global_row` (chunk, position), which sorts like input order.
2. :func:`partition_pairs` (one task per partition): the shards of one partition from every chunk ->
   the candidate pairs of its buckets. A bucket (table, key) never spans partitions, so each bucket is
   paired exactly as :func:`~dataflow.lib.dedup.pairs._pairs_from_keys` pairs it over the whole
   dataset (the same star for buckets over ``max_bucket``), with the same first member.
3. :func:`route_pairs` + :func:`unique_pairs`: each pair goes to the group of its first row's chunk,
   so a pair found in several tables or partitions meets its copies in one group and is counted once.

The union of the groups' pairs is exactly ``keyed_pairs`` of the whole dataset (in global rows).

The n-gram dedup's prefix filter (:func:`~dataflow.lib.dedup.ngram.ngram_overlap_pairs`) needs each
n-gram's frequency over the whole dataset first; two more steps give it the same candidates:
:func:`shard_tokens` (per chunk: (n-gram, row) by n-gram), :func:`count_tokens` (per partition: every
n-gram's frequency, routed back by the row's chunk), :func:`prefix_shards` (per group: each row's prefix,
rarest n-grams first, ties by value, as one keyed table), then steps 2 and 3 above.
"""

from __future__ import annotations

import numpy as np

from dataflow.lib.dedup.pairs import _DEFAULT_MAX_BUCKET, _pairs_from_keys
from dataflow.lib.dedup.shingles import _splitmix64

_U64 = np.uint64
#: A shard row: which table, the key in it, and the global row.
SHARD_DTYPE = np.dtype([("table", np.int64), ("key", np.uint64), ("row", np.int64)])
_POSITION_BITS = 32


def global_row(chunk: int, positions: np.ndarray) -> np.ndarray:
    """Rows named across chunks: ``chunk << 32 | position``, ordered like the input."""
    return (np.int64(chunk) << np.int64(_POSITION_BITS)) | np.asarray(positions, dtype=np.int64)


def chunk_of(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows, dtype=np.int64) >> np.int64(_POSITION_BITS)


def position_of(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows, dtype=np.int64) & np.int64((1 << _POSITION_BITS) - 1)


def shard_keys(keys: np.ndarray, chunk: int, partitions: int) -> list[np.ndarray]:
    """One chunk's ``(tables, n)`` keys as ``partitions`` shard arrays (:data:`SHARD_DTYPE`).

    The partition is a fresh hash of (table, key): keys such as masked SimHash fingerprints are not
    uniformly spread in their low bits."""
    keys = np.asarray(keys, dtype=_U64)
    tables, n = keys.shape if keys.ndim == 2 else (0, 0)
    flat = np.empty(tables * n, dtype=SHARD_DTYPE)
    flat["table"] = np.repeat(np.arange(tables, dtype=np.int64), n)
    flat["key"] = keys.reshape(-1)
    flat["row"] = np.tile(global_row(chunk, np.arange(n)), tables)
    return _split(flat, flat["key"] ^ (flat["table"].astype(_U64) * _U64(0x9E3779B97F4A7C15)), partitions)


def _split(flat: np.ndarray, keys: np.ndarray, partitions: int) -> list[np.ndarray]:
    part = (_splitmix64(np.asarray(keys, dtype=_U64)) % _U64(partitions)).astype(np.int64)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(partitions + 1))
    return [flat[order[bounds[p]:bounds[p + 1]]] for p in range(partitions)]


def partition_pairs(shards: list[np.ndarray], max_bucket: int = _DEFAULT_MAX_BUCKET) -> np.ndarray:
    """The candidate pairs of one partition's buckets: ``(k, 2)`` global rows, first < second (may
    repeat across tables)."""
    merged = np.concatenate(shards) if shards else np.zeros(0, dtype=SHARD_DTYPE)
    if merged.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    # Within a table, rows in input order: the bucket's first member (a star's centre) is its first row.
    merged = merged[np.lexsort((merged["row"], merged["table"]))]
    starts = np.flatnonzero(np.r_[True, merged["table"][1:] != merged["table"][:-1]])
    found = []
    for lo, hi in zip(starts, np.r_[starts[1:], merged.size]):
        local = _pairs_from_keys(merged["key"][lo:hi], max_bucket)
        found.append(merged["row"][lo:hi][local])
    return np.concatenate(found)


def route_pairs(pairs: np.ndarray, groups: int) -> list[np.ndarray]:
    """``pairs`` cut into ``groups`` by the chunk of their first row (``chunk % groups``)."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    group = chunk_of(pairs[:, 0]) % groups
    return [pairs[group == g] for g in range(groups)]


def unique_pairs(pieces: list[np.ndarray]) -> np.ndarray:
    """The distinct pairs of one group, sorted."""
    pairs = np.concatenate(pieces) if pieces else np.zeros((0, 2), dtype=np.int64)
    return np.unique(pairs.reshape(-1, 2), axis=0)


# ---------------------------------------------------------------- the n-gram prefix filter
#: One n-gram of one row, with its frequency over the dataset once counted.
TOKEN_DTYPE = np.dtype([("token", np.uint64), ("row", np.int64), ("freq", np.int64)])


def shard_tokens(hashes: np.ndarray, sizes: np.ndarray, chunk: int, partitions: int) -> list[np.ndarray]:
    """One chunk's n-gram sets (CSR: ``hashes`` of row i are the next ``sizes[i]``) as (n-gram, row)
    shards by n-gram (:data:`TOKEN_DTYPE`)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    flat = np.zeros(int(sizes.sum()), dtype=TOKEN_DTYPE)
    flat["token"] = np.asarray(hashes, dtype=_U64)
    flat["row"] = np.repeat(global_row(chunk, np.arange(len(sizes))), sizes)
    return _split(flat, flat["token"], partitions)


def count_tokens(shards: list[np.ndarray], groups: int) -> list[np.ndarray]:
    """One partition's (n-gram, row) shards with each n-gram's dataset frequency, routed by the chunk
    of the row (every occurrence of an n-gram is in this partition)."""
    merged = np.concatenate(shards) if shards else np.zeros(0, dtype=TOKEN_DTYPE)
    if merged.size:
        _, inverse, counts = np.unique(merged["token"], return_inverse=True, return_counts=True)
        merged["freq"] = counts[inverse.reshape(-1)]
    group = chunk_of(merged["row"]) % groups
    return [merged[group == g] for g in range(groups)]


def prefix_shards(pieces: list[np.ndarray], threshold: float, partitions: int) -> list[np.ndarray]:
    """The prefix of every row of one group, as one keyed table (:data:`SHARD_DTYPE`, key = n-gram)
    cut into partitions: with n-grams ordered rarest first (ties by value), the first
    ``|A| - ceil(t |A|) + 1`` n-grams of a set A, the prefix filter of ``ngram_overlap_pairs``."""
    merged = np.concatenate(pieces) if pieces else np.zeros(0, dtype=TOKEN_DTYPE)
    if merged.size == 0:
        return [np.zeros(0, dtype=SHARD_DTYPE) for _ in range(partitions)]
    merged = merged[np.lexsort((merged["token"], merged["freq"], merged["row"]))]
    starts = np.flatnonzero(np.r_[True, merged["row"][1:] != merged["row"][:-1]])
    sizes = np.diff(np.r_[starts, merged.size])
    prefix_len = sizes - np.ceil(threshold * sizes - 1e-9).astype(np.int64) + 1
    position = np.arange(merged.size) - np.repeat(starts, sizes)
    chosen = merged[position < np.repeat(prefix_len, sizes)]
    flat = np.zeros(chosen.size, dtype=SHARD_DTYPE)
    flat["key"], flat["row"] = chosen["token"], chosen["row"]
    return _split(flat, flat["key"], partitions)
