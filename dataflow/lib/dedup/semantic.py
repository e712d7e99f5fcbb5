"""Near-duplicate pairs from embeddings (cosine similarity, blockwise)."""

from __future__ import annotations

import numpy as np


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

