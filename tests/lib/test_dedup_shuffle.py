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
