"""Normalisation, shingling and stable 64-bit hashing shared by the dedup kernels (numpy only).

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
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import numpy as np

Tokenize = Literal["word", "char"]

_U64 = np.uint64
_POLY_BASE = 0x100000001B3  # odd, so it is invertible modulo 2**64
_POLY_BASE_INV = pow(_POLY_BASE, -1, 1 << 64)
_SPACE = 32
# Code points fed to the vectorised normaliser per chunk; bounds the temporary arrays (~25 bytes each).
_CHUNK_CODEPOINTS = 1 << 18

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


def _normalized_chunks(texts: Sequence[str], normalize: bool):
    """Per chunk of documents: ``(start, stop, code points uint32, chunk-local offsets)``."""
    for start, stop in _chunks_by_size(texts):
        yield (start, stop, *_normalized_codepoints(texts[start:stop], normalize))


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

