"""MinHash signatures and LSH banding.

MinHash
    Every shingle hash ``h`` (reduced to [0, p), p = 2**31 - 1) goes through ``num_perm`` universal hash
    functions ``(a_k * h + b_k) mod p`` (exact in uint64 because a*h+b < 2**62; reduced with the
    Mersenne trick), and the minimum per document and function is kept. Signatures are ``uint32``; an empty document's signature is all
    ``EMPTY_SIGNATURE_VALUE`` (so two empty documents are duplicates of each other, and of nothing else).

A whole MinHash dedup in five lines is in :mod:`dataflow.lib.dedup`'s docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from dataflow.lib.dedup import _compiled
from dataflow.lib.dedup.pairs import _DEFAULT_MAX_BUCKET, keyed_pairs
from dataflow.lib.dedup.shingles import (
    Tokenize,
    _normalized_chunks,
    _seeded_u64,
    _segments,
    _shingle_chunks,
    _splitmix64,
)

_U64 = np.uint64
_MERSENNE31 = (1 << 31) - 1
EMPTY_SIGNATURE_VALUE = np.uint32(0xFFFFFFFF)  # never produced by (a*h+b) mod p, p < 2**31
# Shingles x hash functions per broadcast block in minhash (uint64: 4 MB per buffer).
_MINHASH_BLOCK_ELEMS = 1 << 19


def _permutation_params(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    a = _seeded_u64(seed, num_perm, stream=1) % _U64(_MERSENNE31 - 1) + _U64(1)
    b = _seeded_u64(seed, num_perm, stream=2) % _U64(_MERSENNE31)
    return a, b


def minhash_signatures(
    texts: Sequence[str],
    *,
    num_perm: int = 128,
    ngram: int = 5,
    seed: int = 42,
    tokenize: Tokenize = "word",
    normalize: bool = True,
) -> np.ndarray:
    """MinHash signature of every text: ``uint32`` array of shape ``(len(texts), num_perm)``.

    Shingles are word or character ``ngram``-grams of the normalised text (module doc), hashed for a
    chunk of documents (about 1M characters) at a time. The ``num_perm`` hash functions
    ``(a*h + b) mod (2**31 - 1)`` and the per-document minimum run in one compiled C loop when it was
    built (:mod:`._compiled`), else in numpy (:func:`_minhash_numpy`); both give the same
    signatures. The fraction of equal columns of two signatures estimates the Jaccard similarity of
    their shingle sets. Deterministic for a given ``seed`` (no Python ``hash()``).
    """
    if num_perm < 1:
        raise ValueError(f"num_perm must be >= 1, got {num_perm}")
    if ngram < 1:
        raise ValueError(f"ngram must be >= 1, got {ngram}")
    a, b = _permutation_params(num_perm, seed)
    signatures = np.full((len(texts), num_perm), EMPTY_SIGNATURE_VALUE, dtype=np.uint32)
    compiled = _compiled.kernels()
    a32, b32 = a.astype(np.uint32), b.astype(np.uint32)  # the compiled kernels take them as uint32
    if compiled is not None and tokenize == "char":  # hashes each shingle in the loop: no span arrays
        for start, stop, codepoints, offsets in _normalized_chunks(texts, normalize):
            compiled.minhash_chars(codepoints, offsets, ngram, a32, b32, signatures[start:stop])
        return signatures
    for start, stop, hashes, shingle_doc in _shingle_chunks(texts, ngram, tokenize, normalize):
        reduced = hashes % _U64(_MERSENNE31)
        if compiled is not None:
            run_start, docs = _segments(shingle_doc)
            bounds = np.append(run_start, reduced.size)
            compiled.minhash_runs(reduced.astype(np.uint32), bounds, docs, a32, b32, signatures[start:stop])
        else:
            _minhash_numpy(reduced, shingle_doc, a, b, signatures[start:stop])
    return signatures


def _minhash_numpy(reduced: np.ndarray, shingle_doc: np.ndarray, a: np.ndarray, b: np.ndarray,
                   out: np.ndarray) -> None:
    """The numpy kernel (used when the C kernels were not built): ``out[d]`` = per-function minimum over document ``d``'s
    reduced shingle hashes. The ``num_perm`` hash functions are evaluated with one broadcast
    ``(num_perm, block)`` array (4 MB) and reduced per document with ``np.minimum.reduceat``."""
    num_perm = a.size
    prime = _U64(_MERSENNE31)
    shift = _U64(31)
    # Layout (num_perm, block): each hash function's values are contiguous, so the per-document
    # minimum is a fast contiguous reduceat along axis 1.
    block = max(1, _MINHASH_BLOCK_ELEMS // num_perm)
    values = np.empty((num_perm, block), dtype=_U64)
    scratch = np.empty_like(values)
    a_col, b_col = a[:, None], b[:, None]
    for lo in range(0, reduced.size, block):
        h = reduced[None, lo : lo + block]
        cols = h.shape[1]
        x, y = values[:, :cols], scratch[:, :cols]
        np.multiply(a_col, h, out=x)  # < 2**62: exact in uint64
        x += b_col
        # x mod p for p = 2**31 - 1: fold the high bits onto the low bits, then one conditional
        # subtraction (x - p wraps around to a huge value when x < p, so minimum() picks x).
        np.right_shift(x, shift, out=y)
        np.bitwise_and(x, prime, out=x)
        x += y
        np.subtract(x, prime, out=y)
        np.minimum(x, y, out=x)
        run_start, docs = _segments(shingle_doc[lo : lo + cols])
        block_min = np.minimum.reduceat(x, run_start, axis=1).T.astype(np.uint32)
        out[docs] = np.minimum(out[docs], block_min)


def _false_positive_area(threshold: float, bands: int, rows: int, grid: int = 2001) -> float:
    """Integral over s in [0, t] of P(candidate | Jaccard s) = 1 - (1 - s**r)**b (trapezoid rule)."""
    s = np.linspace(0.0, threshold, grid)
    return float(np.trapezoid(1.0 - (1.0 - s**rows) ** bands, s))


def _false_negative_area(threshold: float, bands: int, rows: int, grid: int = 2001) -> float:
    """Integral over s in [t, 1] of P(not candidate | Jaccard s) = (1 - s**r)**b."""
    s = np.linspace(threshold, 1.0, grid)
    return float(np.trapezoid((1.0 - s**rows) ** bands, s))


@lru_cache(maxsize=128)
def optimal_bands_rows(
    threshold: float,
    num_perm: int,
    *,
    false_positive_weight: float = 0.5,
    false_negative_weight: float = 0.5,
) -> tuple[int, int]:
    """LSH banding ``(bands, rows)`` with ``bands * rows <= num_perm`` for a Jaccard ``threshold``.

    A pair with Jaccard ``s`` becomes a candidate with probability ``1 - (1 - s**rows)**bands``. The
    false-positive "area" is that probability integrated over ``s < threshold``, the false-negative
    area is its complement integrated over ``s >= threshold``; the pair minimising the weighted sum is
    returned (ties keep the smaller number of bands).
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            error = false_positive_weight * _false_positive_area(
                threshold, bands, rows
            ) + false_negative_weight * _false_negative_area(threshold, bands, rows)
            if best is None or error < best[0] - 1e-15:
                best = (error, bands, rows)
    assert best is not None
    return best[1], best[2]


def lsh_band_keys(signatures: np.ndarray, *, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per LSH band and document: ``(bands, n)`` uint64. Two documents agree on all
    ``rows`` values of a band exactly when (up to a 64-bit collision) their keys for that band agree."""
    signatures = np.asarray(signatures)
    n, num_perm = signatures.shape
    if bands < 1 or rows < 1 or bands * rows > num_perm:
        raise ValueError(f"need bands*rows <= num_perm ({num_perm}), got {bands}x{rows}")
    keys = np.empty((bands, n), dtype=_U64)
    for band in range(bands):
        key = np.full(n, band, dtype=_U64)
        for col in range(band * rows, (band + 1) * rows):
            key = _splitmix64(key ^ signatures[:, col].astype(_U64))
        keys[band] = key
    return keys


def lsh_candidate_pairs(
    signatures: np.ndarray, *, bands: int, rows: int, max_bucket: int = _DEFAULT_MAX_BUCKET
) -> np.ndarray:
    """Candidate pairs from MinHash LSH banding: shape ``(k, 2)`` int64, ``i < j``, sorted, unique.

    Two documents are candidates when all ``rows`` signature values of at least one of ``bands``
    bands agree. Each band is hashed to one 64-bit key per document (:func:`lsh_band_keys`) and
    grouped by sorting. A bucket with more than ``max_bucket`` members (e.g. thousands of copies of
    one boilerplate page) yields a star of pairs to its first member rather than all ``L*(L-1)/2``
    pairs.
    """
    return keyed_pairs(lsh_band_keys(signatures, bands=bands, rows=rows), max_bucket)
