"""Vectorised near-duplicate detection kernels (numpy only).

These are the building blocks behind DataFlow's dedup operators; they take plain Python lists / numpy
arrays and return numpy arrays, so an operator only has to pick a column and drop rows.

Text normalisation (``normalize_for_hash``)
    Lowercase (``str.lower``), delete every Unicode punctuation character (general category ``P*``;
    symbols such as ``$`` or ``+`` are kept), turn every whitespace character (``str.isspace``) into a
    space, collapse runs of spaces into one and strip both ends. "Don't  STOP!" -> "dont stop".
    No NFKC folding is applied.

Shingles
    ``tokenize="word"``: ``ngram`` consecutive words of the normalised text; ``tokenize="char"``:
    ``ngram`` consecutive code points of the normalised text (spaces included). A non-empty document
    shorter than one shingle contributes its whole normalised text as a single shingle, so short
    documents still compare equal to identical short documents. A document that normalises to the empty
    string has no shingles.

Stable hashing
    Everything is computed with explicit 64-bit arithmetic on Unicode code points (a polynomial hash of
    each shingle's code-point span, finished with the splitmix64 mixer), never Python's salted
    ``hash()``; results are identical across processes, runs and platforms. Exact hashes use
    ``hashlib.blake2b``. A polynomial hash modulo 2**64 can be forced to collide by adversarial,
    specially structured strings; for deduplication that only matters for crafted input.

MinHash
    Every shingle hash ``h`` (reduced to [0, p), p = 2**31 - 1) goes through ``num_perm`` universal hash
    functions ``(a_k * h + b_k) mod p`` computed for a block of shingles at once with broadcasting
    (exact in uint64 because a*h+b < 2**62; reduced with the Mersenne trick), and the minimum per
    document and function is kept. Signatures are ``uint32``; an empty document's signature is all
    ``EMPTY_SIGNATURE_VALUE`` (so two empty documents are duplicates of each other, and of nothing else).

Typical MinHash dedup::

    sigs = minhash_signatures(texts, num_perm=128)
    bands, rows = optimal_bands_rows(0.8, 128)
    pairs = lsh_candidate_pairs(sigs, bands=bands, rows=rows)
    cluster = cluster_duplicates(len(texts), pairs, signatures=sigs, threshold=0.8)
    keep = cluster == np.arange(len(texts))          # first member of every cluster
"""

from __future__ import annotations

import hashlib
import itertools
import sys
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal, NamedTuple

import numpy as np

__all__ = [
    "EMPTY_SIGNATURE_VALUE",
    "NgramHashSets",
    "cluster_duplicates",
    "exact_hashes",
    "lsh_candidate_pairs",
    "minhash_signatures",
    "ngram_hash_signatures",
    "ngram_overlap_pairs",
    "normalize_for_hash",
    "optimal_bands_rows",
    "semantic_duplicate_pairs",
    "simhash_candidate_pairs",
    "simhash_fingerprints",
]

Tokenize = Literal["word", "char"]

_U64 = np.uint64
_MERSENNE31 = (1 << 31) - 1
EMPTY_SIGNATURE_VALUE = np.uint32(0xFFFFFFFF)  # never produced by (a*h+b) mod p, p < 2**31
_POLY_BASE = 0x100000001B3  # odd, so it is invertible modulo 2**64
_POLY_BASE_INV = pow(_POLY_BASE, -1, 1 << 64)
_SPACE = 32
# Code points fed to the vectorised normaliser per chunk; bounds the temporary arrays (~25 bytes each).
_CHUNK_CODEPOINTS = 1 << 20
# Shingles x hash functions per broadcast block in minhash (uint64: 4 MB per buffer).
_MINHASH_BLOCK_ELEMS = 1 << 19
# Buckets larger than this emit a "star" (every member paired with the first) instead of all pairs.
_DEFAULT_MAX_BUCKET = 64


# ----------------------------------------------------------------------------------------------------
# stable hashing helpers


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic); a good bijective mixer."""
    z = x + _U64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


class _PowerTables:
    """``B**i`` and ``B**-i`` modulo 2**64, grown on demand and reused across chunks of one call."""

    def __init__(self) -> None:
        self.powers = np.zeros(0, dtype=_U64)
        self.inverse = np.zeros(0, dtype=_U64)

    def ensure(self, length: int) -> None:
        if self.powers.size < length:
            size = length + length // 4  # slack so slightly longer chunks do not regrow
            self.powers = _geometric(_POLY_BASE, size)
            self.inverse = _geometric(_POLY_BASE_INV, size)


def _geometric(base: int, length: int) -> np.ndarray:
    """``base**i mod 2**64`` for i in [0, length)."""
    powers = np.full(length, base, dtype=_U64)
    if length:
        powers[0] = 1
    return np.cumprod(powers, dtype=_U64)


def _span_hashes(
    codepoints: np.ndarray, starts: np.ndarray, ends: np.ndarray, tables: _PowerTables
) -> np.ndarray:
    """Stable 64-bit hash of every code-point span ``codepoints[s:e]``, all spans at once.

    Polynomial hash ``sum c_j * B**(j-s)`` from one prefix-sum array (``C[e] - C[s]`` scaled by
    ``B**-s``; B is odd so its inverse exists mod 2**64), mixed with the span length and splitmix64.
    """
    length = codepoints.size
    tables.ensure(length + 1)
    prefix = np.zeros(length + 1, dtype=_U64)
    np.multiply(codepoints, tables.powers[:length], out=prefix[1:], dtype=_U64)
    np.cumsum(prefix, out=prefix)
    raw = (prefix[ends] - prefix[starts]) * tables.inverse[starts]
    span_len = (ends - starts).astype(_U64)
    return _splitmix64(raw ^ (span_len * _U64(0xD6E8FEB86659FD93)))


def _seeded_u64(seed: int, count: int, stream: int) -> np.ndarray:
    """Deterministic pseudo-random uint64 values (splitmix64 of a counter; independent of numpy RNG)."""
    base = (seed * 0x9E3779B97F4A7C15 + stream * 0xC2B2AE3D27D4EB4F) % (1 << 64)
    counter = (np.arange(count, dtype=_U64) * _U64(0xBF58476D1CE4E5B9)) + _U64(base)
    return _splitmix64(_splitmix64(counter))


# ----------------------------------------------------------------------------------------------------
# normalisation

_KEEP, _WHITESPACE, _PUNCT = 0, 1, 2
# Unicode assigns no punctuation or whitespace above U+1FFFF (planes 2+ are ideographs, tags,
# private use); the table is built over the first two planes only, which is ten times faster.
_CLASS_SCAN_LIMIT = 0x20000


@lru_cache(maxsize=1)
def _char_class_table() -> np.ndarray:
    """uint8 class per code point: 0 keep, 1 whitespace, 2 punctuation (built once, ~30 ms)."""
    import unicodedata

    table = np.zeros(sys.maxunicode + 1, dtype=np.uint8)
    for cp in range(_CLASS_SCAN_LIMIT):
        ch = chr(cp)
        if ch.isspace():
            table[cp] = _WHITESPACE
        elif unicodedata.category(ch)[0] == "P":
            table[cp] = _PUNCT
    return table


def _normalized_codepoints(texts: Sequence[str], normalize: bool) -> tuple[np.ndarray, np.ndarray]:
    """Normalise ``texts`` (see module doc) into one concatenated uint32 code-point array.

    Returns ``(codepoints, offsets)``: document i is ``codepoints[offsets[i]:offsets[i+1]]``; words
    inside a document are separated by exactly one space and there are no leading/trailing spaces.
    With ``normalize=False`` only the whitespace handling is applied (case and punctuation are kept).
    """
    count = len(texts)
    # ASCII-only texts are lowercased below in numpy (cheaper than str.lower); others here.
    prepared = [t if t.isascii() else t.lower() for t in texts] if normalize else [str(t) for t in texts]
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, prepared), dtype=np.int64, count=count), out=offsets[1:])
    raw = np.frombuffer("".join(prepared).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    del prepared
    classes = _char_class_table()[raw]
    if normalize:
        raw = raw + ((raw - np.uint32(65)) < 26).view(np.uint8).astype(np.uint32) * np.uint32(32)  # A-Z
        (raw, classes), offsets = _compact(raw, offsets, classes != _PUNCT, classes)
    is_space = classes == _WHITESPACE
    # Drop a space that starts a document or follows another space ...
    doc_start = np.zeros(raw.size + 1, dtype=bool)
    doc_start[offsets] = True
    after_space = np.zeros(raw.size, dtype=bool)
    after_space[1:] = is_space[:-1]
    (raw, is_space), offsets = _compact(raw, offsets, ~(is_space & (doc_start[:-1] | after_space)), is_space)
    # ... then the single space that may remain at the end of a document.
    doc_end = np.zeros(raw.size + 1, dtype=bool)
    doc_end[offsets - 1] = True  # offsets[0] - 1 == -1 marks the unused sentinel slot
    (raw, is_space), offsets = _compact(raw, offsets, ~(is_space & doc_end[:-1]), is_space)
    raw[is_space] = _SPACE
    return raw, offsets


def _compact(
    values: np.ndarray, offsets: np.ndarray, keep: np.ndarray, companion: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Keep ``values[keep]`` (and the aligned ``companion[keep]``) and recompute document offsets."""
    dropped = np.flatnonzero(~keep)  # few: punctuation and surplus spaces
    new_offsets = offsets - np.searchsorted(dropped, offsets)
    return (values[keep], companion[keep]), new_offsets


def _chunks_by_size(texts: Sequence[str]) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` document ranges of about ``_CHUNK_CODEPOINTS`` characters each."""
    budget = _CHUNK_CODEPOINTS
    bounds, start, size = [], 0, 0
    for i, text in enumerate(texts):
        size += len(text)
        if size >= budget:
            bounds.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(texts) or not bounds:
        bounds.append((start, len(texts)))
    return bounds


def normalize_for_hash(texts: Sequence[str]) -> list[str]:
    """Normalised copies of ``texts``: lowercase, punctuation deleted, whitespace collapsed, stripped.

    Punctuation is every code point of Unicode general category ``P*`` (deleted, so "don't" ->
    "dont" and "a.b" -> "ab"); whitespace is every ``str.isspace`` character (becomes one space).
    """
    result: list[str] = []
    for start, stop in _chunks_by_size(texts):
        codepoints, offsets = _normalized_codepoints(texts[start:stop], normalize=True)
        joined = codepoints.tobytes().decode("utf-32-le", "surrogatepass")
        result.extend(joined[offsets[i] : offsets[i + 1]] for i in range(stop - start))
    return result


def exact_hashes(texts: Sequence[str], normalize: bool = True) -> np.ndarray:
    """64-bit BLAKE2b digest of every text (after ``normalize_for_hash`` when ``normalize``), uint64.

    Equal values mean equal (normalised) texts up to a 2**-64 collision chance per pair.
    """
    prepared = normalize_for_hash(texts) if normalize else texts
    digests = b"".join(
        hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest() for t in prepared
    )
    return np.frombuffer(digests, dtype="<u8").astype(_U64)


# ----------------------------------------------------------------------------------------------------
# shingles


def _shingle_spans(
    codepoints: np.ndarray, offsets: np.ndarray, ngram: int, tokenize: Tokenize
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code-point spans of every shingle, in document order: ``(starts, ends, doc_of_shingle)``."""
    if ngram < 1:
        raise ValueError(f"ngram must be >= 1, got {ngram}")
    count = offsets.size - 1
    doc_len = np.diff(offsets)
    if tokenize == "char":
        per_doc = np.where(doc_len > 0, np.maximum(doc_len - ngram + 1, 1), 0)
        shingle_doc = np.repeat(np.arange(count, dtype=np.int64), per_doc)
        first = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(per_doc, out=first[1:])
        starts = offsets[shingle_doc] + (np.arange(shingle_doc.size) - first[shingle_doc])
        ends = np.minimum(starts + ngram, offsets[shingle_doc + 1])
        return starts, ends, shingle_doc
    if tokenize != "word":
        raise ValueError(f"tokenize must be 'word' or 'char', got {tokenize!r}")
    # Words: maximal non-space runs; a document boundary also ends / starts a word.
    is_space = codepoints == _SPACE
    boundary = np.zeros(codepoints.size + 1, dtype=bool)
    boundary[offsets] = True
    word_start = ~is_space & (boundary[:-1] | np.concatenate(([True], is_space[:-1])))
    word_end = ~is_space & (boundary[1:] | np.concatenate((is_space[1:], [True])))
    w_starts = np.flatnonzero(word_start)
    w_ends = np.flatnonzero(word_end) + 1
    words_per_doc = np.diff(np.searchsorted(w_starts, offsets))
    first_word = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(words_per_doc, out=first_word[1:])
    per_doc = np.where(words_per_doc > 0, np.maximum(words_per_doc - ngram + 1, 1), 0)
    shingle_doc = np.repeat(np.arange(count, dtype=np.int64), per_doc)
    first_shingle = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(per_doc, out=first_shingle[1:])
    first_w = first_word[shingle_doc] + (np.arange(shingle_doc.size) - first_shingle[shingle_doc])
    last_w = np.minimum(first_w + ngram, first_word[shingle_doc + 1]) - 1
    return w_starts[first_w], w_ends[last_w], shingle_doc


def _shingle_chunks(texts: Sequence[str], ngram: int, tokenize: Tokenize, normalize: bool):
    """Per chunk of documents: ``(start, stop, shingle hashes uint64, chunk-local doc of each)``."""
    tables = _PowerTables()
    for start, stop in _chunks_by_size(texts):
        codepoints, offsets = _normalized_codepoints(texts[start:stop], normalize)
        s_starts, s_ends, s_doc = _shingle_spans(codepoints, offsets, ngram, tokenize)
        yield start, stop, _span_hashes(codepoints, s_starts, s_ends, tables), s_doc


def _segments(sorted_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a sorted id array: positions where each run starts, and the id of each run."""
    if sorted_ids.size == 0:
        return np.zeros(0, dtype=np.int64), sorted_ids
    run_start = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
    return run_start, sorted_ids[run_start]


# ----------------------------------------------------------------------------------------------------
# MinHash + LSH


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

    Shingles are word or character ``ngram``-grams of the normalised text (module doc). For a block
    of shingle hashes ``h`` (all documents of a chunk, concatenated) the ``num_perm`` hash functions
    ``(a*h + b) mod (2**31 - 1)`` are evaluated with one broadcast ``(block, num_perm)`` array and
    reduced per document with ``np.minimum.reduceat``; block size keeps that array at 4 MB. The fraction
    of equal columns of two signatures estimates the Jaccard similarity of their shingle sets.
    Deterministic for a given ``seed`` (no Python ``hash()``).
    """
    if num_perm < 1:
        raise ValueError(f"num_perm must be >= 1, got {num_perm}")
    a, b = _permutation_params(num_perm, seed)
    prime = _U64(_MERSENNE31)
    shift = _U64(31)
    signatures = np.full((len(texts), num_perm), EMPTY_SIGNATURE_VALUE, dtype=np.uint32)
    # Layout (num_perm, block): each hash function's values are contiguous, so the per-document
    # minimum is a fast contiguous reduceat along axis 1.
    block = max(1, _MINHASH_BLOCK_ELEMS // num_perm)
    values = np.empty((num_perm, block), dtype=_U64)
    scratch = np.empty_like(values)
    a_col, b_col = a[:, None], b[:, None]
    for start, _stop, hashes, shingle_doc in _shingle_chunks(texts, ngram, tokenize, normalize):
        reduced = hashes % prime
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
            rows_of_docs = start + docs
            signatures[rows_of_docs] = np.minimum(signatures[rows_of_docs], block_min)
    return signatures


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


def lsh_candidate_pairs(
    signatures: np.ndarray, *, bands: int, rows: int, max_bucket: int = _DEFAULT_MAX_BUCKET
) -> np.ndarray:
    """Candidate pairs from MinHash LSH banding: shape ``(k, 2)`` int64, ``i < j``, sorted, unique.

    Two documents are candidates when all ``rows`` signature values of at least one of ``bands``
    bands agree. Each band is hashed to one 64-bit key per document and grouped by sorting. A bucket
    with more than ``max_bucket`` members (e.g. thousands of copies of one boilerplate page) yields a
    star of pairs to its first member rather than all ``L*(L-1)/2`` pairs.
    """
    signatures = np.asarray(signatures)
    n, num_perm = signatures.shape
    if bands < 1 or rows < 1 or bands * rows > num_perm:
        raise ValueError(f"need bands*rows <= num_perm ({num_perm}), got {bands}x{rows}")
    found = []
    for band in range(bands):
        key = np.full(n, band, dtype=_U64)
        for col in range(band * rows, (band + 1) * rows):
            key = _splitmix64(key ^ signatures[:, col].astype(_U64))
        found.append(_pairs_from_keys(key, max_bucket))
    return _unique_pairs(np.concatenate(found), n)


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


# ----------------------------------------------------------------------------------------------------
# SimHash


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
    block = 1 << 16
    weights = _U64(1) << np.arange(bits, dtype=_U64)
    for start, stop, hashes, shingle_doc in _shingle_chunks(texts, ngram, tokenize, normalize):
        hashes = hashes >> _U64(64 - bits)
        votes = np.zeros((stop - start, bits), dtype=np.int64)  # +1 per set bit, -1 per clear bit
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
        fingerprints[start:stop] = ((votes > 0).astype(_U64) * weights).sum(axis=1, dtype=_U64)
    return fingerprints


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
    n = fps.size
    if blocks is None:
        blocks = max_distance + 1
    if not max_distance + 1 <= blocks <= bits:
        raise ValueError(f"blocks must be in [max_distance + 1, bits], got {blocks}")
    edges = np.linspace(0, bits, blocks + 1).round().astype(int)
    block_masks = [((1 << int(hi)) - 1) ^ ((1 << int(lo)) - 1) for lo, hi in zip(edges[:-1], edges[1:])]
    found = []
    for chosen in itertools.combinations(range(blocks), blocks - max_distance):
        mask = _U64(sum(block_masks[k] for k in chosen))
        found.append(_pairs_from_keys(fps & mask, max_bucket))
    pairs = _unique_pairs(np.concatenate(found) if found else np.zeros((0, 2), np.int64), n)
    if len(pairs) == 0:
        return pairs
    distance = _popcount(fps[pairs[:, 0]] ^ fps[pairs[:, 1]])
    return pairs[distance <= max_distance]


# ----------------------------------------------------------------------------------------------------
# n-gram hash sets with an exact Jaccard join


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


# ----------------------------------------------------------------------------------------------------
# semantic (embedding) duplicates


def semantic_duplicate_pairs(
    embeddings: np.ndarray,
    threshold: float,
    *,
    block: int = 2048,
    return_similarity: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, whose embeddings have cosine similarity ``>= threshold``.

    Rows are L2-normalised (float32; all-zero rows stay zero and match nothing), then the upper
    triangle of the similarity matrix is computed ``block`` rows at a time, so memory is
    ``block * n`` floats rather than ``n * n``. With ``return_similarity`` also returns the cosine of
    every pair.
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be 2-D, got shape {emb.shape}")
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    unit = np.divide(emb, norms, out=np.zeros_like(emb), where=norms > 0)
    n = unit.shape[0]
    lefts, rights, sims = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.float32)]
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        sim = unit[lo:hi] @ unit[lo:].T  # rows lo..hi against columns lo..n
        row, col = np.nonzero(sim >= threshold)
        upper = col > row  # column index is relative to lo, so this is j > i
        row, col = row[upper], col[upper]
        lefts.append(row + lo)
        rights.append(col + lo)
        sims.append(sim[row, col])
    pairs = np.stack((np.concatenate(lefts), np.concatenate(rights)), axis=1).astype(np.int64)
    if not return_similarity:
        return pairs
    return pairs, np.concatenate(sims).astype(np.float64)

