"""The hash shuffle of a keyed dedup, run in pieces, finds exactly the pairs of the one-process path."""

from __future__ import annotations

import numpy as np
import pytest

from dataflow.lib.dedup.pairs import keyed_pairs
from dataflow.lib.dedup.shuffle import (
    chunk_of,
    global_row,
    partition_pairs,
    position_of,
    route_pairs,
    shard_keys,
    unique_pairs,
)


def shuffled_pairs(keys: np.ndarray, chunk_rows: list[int], partitions: int, groups: int) -> np.ndarray:
    """The pairs in global rows, chunk by chunk, partition by partition, group by group."""
    starts = np.cumsum([0, *chunk_rows])
    shards = [shard_keys(keys[:, lo:hi], k, partitions) for k, (lo, hi) in enumerate(zip(starts, starts[1:]))]
    routed = [route_pairs(partition_pairs([s[p] for s in shards]), groups) for p in range(partitions)]
    found = [unique_pairs([r[g] for r in routed]) for g in range(groups)]
    # every distinct pair lands in exactly one group
    flat = np.concatenate(found)
    assert len(np.unique(flat, axis=0)) == len(flat)
    index = starts[chunk_of(flat)] + position_of(flat)
    return np.unique(index, axis=0) if len(index) else index.reshape(0, 2)


@pytest.mark.parametrize("partitions,groups", [(1, 1), (3, 2), (7, 5)])
def test_shuffle_pieces_give_the_pairs_of_the_whole_dataset(partitions, groups):
    rng = np.random.default_rng(3)
    n, tables = 900, 4
    keys = rng.integers(0, 120, size=(tables, n)).astype(np.uint64)
    keys[2, 100:300] = 7  # a bucket over max_bucket: paired as a star to its first row
    keys[3] = rng.integers(0, 1 << 62, size=n).astype(np.uint64)  # almost all singletons
    expected = keyed_pairs(keys)
    got = shuffled_pairs(keys, [250, 1, 0, 349, 300], partitions, groups)
    assert len(expected) > 1000
    np.testing.assert_array_equal(got, expected)


def test_global_rows_sort_like_the_input():
    rows = np.concatenate([global_row(0, np.arange(5)), global_row(1, np.arange(3)), global_row(12, [0, 9])])
    assert np.all(np.diff(rows) > 0)
    assert chunk_of(rows).tolist() == [0] * 5 + [1] * 3 + [12, 12]
    assert position_of(rows).tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 0, 9]


@pytest.mark.parametrize("max_bucket", [1024, 6])
def test_the_prefix_filter_in_pieces_finds_the_pairs_of_ngram_overlap_pairs(max_bucket):
    """Frequencies counted per partition, prefixes per group, buckets per partition: the same candidates
    and, checked by the operator, the same linked pairs as the one-process join (stars included)."""
    from dataflow.lib.dedup.ngram import NgramHashSets, ngram_overlap_pairs
    from dataflow.lib.dedup.shuffle import count_tokens, prefix_shards, shard_tokens
    from dataflow.operators.general_text.dedup.ngramhash import NgramHashDeduplicateFilter

    rng = np.random.default_rng(11)
    base = [np.unique(rng.integers(0, 5000, size=rng.integers(5, 60))) for _ in range(150)]
    sets = base + [np.unique(np.r_[s[rng.random(len(s)) > 0.1], rng.integers(0, 5000, 2)]) for s in base[:60]]
    sets += [np.arange(40)] * 12 + [np.zeros(0, dtype=np.int64)] * 3  # a big bucket, and empty sets
    rng.shuffle(sets)
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    hashes = np.concatenate(sets).astype(np.uint64)
    threshold = 0.75
    expected, _ = ngram_overlap_pairs(NgramHashSets(hashes, np.r_[0, np.cumsum(sizes)]), threshold=threshold,
                                      max_bucket=max_bucket)

    chunk_rows, parts, groups = [70, 0, 100, 55], 3, 2
    assert sum(chunk_rows) == len(sets)
    starts = np.r_[0, np.cumsum(chunk_rows)]
    offsets = np.r_[0, np.cumsum(sizes)]
    tokens = [shard_tokens(hashes[offsets[lo]:offsets[hi]], sizes[lo:hi], k, parts)
              for k, (lo, hi) in enumerate(zip(starts, starts[1:]))]
    counted = [count_tokens([t[p] for t in tokens], groups) for p in range(parts)]
    prefixes = [prefix_shards([c[g] for c in counted], threshold, parts) for g in range(groups)]
    routed = [route_pairs(partition_pairs([x[p] for x in prefixes], max_bucket), groups) for p in range(parts)]
    candidates = np.concatenate([unique_pairs([r[g] for r in routed]) for g in range(groups)])
    index = starts[chunk_of(candidates)] + position_of(candidates)
    op = NgramHashDeduplicateFilter(threshold=threshold)
    linked = index[op.linked_mask((hashes.astype(np.uint32), sizes), None, index, index)]
    np.testing.assert_array_equal(np.unique(linked, axis=0), expected)
    assert len(expected) > 50
