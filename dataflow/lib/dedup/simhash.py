"""SimHash fingerprints and Hamming-distance candidate pairs."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from dataflow.lib.dedup import _compiled
from dataflow.lib.dedup.pairs import _DEFAULT_MAX_BUCKET, keyed_pairs
from dataflow.lib.dedup.shingles import Tokenize, _segments, _shingle_chunks

_U64 = np.uint64


def simhash_fingerprints(
    texts: Sequence[str],
    *,
    ngram: int = 3,
    bits: int = 64,
    tokenize: Tokenize = "word",
    normalize: bool = True,
) -> np.ndarray:
    """SimHash fingerprint of every text (uint64; only the low ``bits`` bits are used).

    Each shingle (word/char ``ngram``-gram, counted with multiplicity) votes +1/-1 on every bit of its
    64-bit hash; fingerprint bit k is set when more than half of the shingles have bit k set. The top
    ``bits`` bits of each shingle hash vote, so fingerprints with fewer bits stay well mixed. Empty
    documents get fingerprint 0.
    """
    if not 1 <= bits <= 64:
        raise ValueError(f"bits must be in [1, 64], got {bits}")
    fingerprints = np.zeros(len(texts), dtype=_U64)
    compiled = _compiled.kernels()
    weights = _U64(1) << np.arange(bits, dtype=_U64)
    for start, stop, hashes, shingle_doc in _shingle_chunks(texts, ngram, tokenize, normalize):
        hashes = hashes >> _U64(64 - bits)
        votes = np.zeros((stop - start, bits), dtype=np.int64)  # +1 per set bit, -1 per clear bit
        if compiled is not None:
            compiled.simhash_votes(hashes, shingle_doc, bits, votes)
        else:
            _simhash_votes_numpy(hashes, shingle_doc, bits, votes)
        fingerprints[start:stop] = ((votes > 0).astype(_U64) * weights).sum(axis=1, dtype=_U64)
    return fingerprints


def _simhash_votes_numpy(hashes: np.ndarray, shingle_doc: np.ndarray, bits: int, votes: np.ndarray) -> None:
    """``votes[d, k]`` += +1 / -1 for bit k of each of document d's shingle hashes (numpy version of
    the compiled kernel, used when the C kernels were not built)."""
    block = 1 << 16
    for lo in range(0, hashes.size, block):
        h = hashes[lo : lo + block]
        # (bits, rows) matrix, row k = bit k of every value (explicit little-endian byte view);
        # transposed so the per-document sums run over contiguous memory.
        as_bytes = h.astype("<u8").view(np.uint8).reshape(-1, 8)
        bit_rows = np.ascontiguousarray(np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :bits].T)
        run_start, docs = _segments(shingle_doc[lo : lo + block])
        ones = np.add.reduceat(bit_rows, run_start, axis=1, dtype=np.int64).T
        run_len = np.diff(np.append(run_start, h.size))
        votes[docs] += 2 * ones - run_len[:, None]


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x).astype(np.int64)
    as_bytes = x.astype("<u8").view(np.uint8).reshape(-1, 8)
    return np.unpackbits(as_bytes, axis=1).sum(axis=1, dtype=np.int64)


def simhash_candidate_pairs(
    fingerprints: np.ndarray,
    *,
    max_distance: int = 3,
    blocks: int | None = None,
    bits: int = 64,
    max_bucket: int = _DEFAULT_MAX_BUCKET,
) -> np.ndarray:
    """Pairs of fingerprints within Hamming distance ``max_distance``: ``(k, 2)`` int64, ``i < j``.

    Permuted-block tables (Manku et al., 2007): the ``bits`` bits are cut into ``blocks`` contiguous
    blocks (default ``max_distance + 1``). Two fingerprints differing in at most ``d`` bits agree
    exactly on at least ``blocks - d`` blocks, so for every choice of ``blocks - d`` blocks we group
    fingerprints by those bits (a sort per table) and pair up each group; candidates are then checked
    with an exact popcount. More blocks -> more tables but longer keys and smaller groups. Buckets
    larger than ``max_bucket`` are paired as a star (see :func:`lsh_candidate_pairs`), so pairs inside
    huge groups of near-identical fingerprints may be reported only through their first member.
    """
    fps = np.asarray(fingerprints, dtype=_U64)
    pairs = keyed_pairs(simhash_block_keys(fps, max_distance=max_distance, blocks=blocks, bits=bits), max_bucket)
    if len(pairs) == 0:
        return pairs
    return pairs[simhash_within(fps[pairs[:, 0]], fps[pairs[:, 1]], max_distance)]


def simhash_block_keys(fingerprints: np.ndarray, *, max_distance: int = 3, blocks: int | None = None,
                       bits: int = 64) -> np.ndarray:
    """The permuted-block table keys of every fingerprint: ``(tables, n)`` uint64, one table per choice
    of ``blocks - max_distance`` blocks (the fingerprint masked to those blocks)."""
    fps = np.asarray(fingerprints, dtype=_U64)
    if blocks is None:
        blocks = max_distance + 1
    if not max_distance + 1 <= blocks <= bits:
        raise ValueError(f"blocks must be in [max_distance + 1, bits], got {blocks}")
    edges = np.linspace(0, bits, blocks + 1).round().astype(int)
    block_masks = [((1 << int(hi)) - 1) ^ ((1 << int(lo)) - 1) for lo, hi in zip(edges[:-1], edges[1:])]
    tables = [fps & _U64(sum(block_masks[k] for k in chosen))
              for chosen in itertools.combinations(range(blocks), blocks - max_distance)]
    return np.stack(tables) if tables else np.zeros((0, fps.size), dtype=_U64)


def simhash_within(a: np.ndarray, b: np.ndarray, max_distance: int) -> np.ndarray:
    """Whether each pair of fingerprints differs in at most ``max_distance`` bits (exact popcount)."""
    return _popcount(np.asarray(a, dtype=_U64) ^ np.asarray(b, dtype=_U64)) <= max_distance
