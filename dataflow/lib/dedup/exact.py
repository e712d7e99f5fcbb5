"""Exact duplicates: a stable digest of every (normalised) text."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from dataflow.lib.dedup.shingles import normalize_for_hash


def exact_hashes(texts: Sequence[str], normalize: bool = True) -> np.ndarray:
    """64-bit BLAKE2b digest of every text (after ``normalize_for_hash`` when ``normalize``), uint64.

    Equal values mean equal (normalised) texts up to a 2**-64 collision chance per pair.
    """
    prepared = normalize_for_hash(texts) if normalize else texts
    digests = b"".join(
        hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest() for t in prepared
    )
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)

