"""Vectorised near-duplicate detection kernels (numpy only).

These are the building blocks behind DataFlow's dedup operators; they take plain Python lists / numpy
arrays and return numpy arrays, so an operator only has to pick a column and drop rows.

Modules: ``shingles`` (normalisation, shingles, stable hashing), ``exact``, ``minhash`` (signatures +
LSH), ``simhash``, ``ngram`` (exact Jaccard join), ``semantic`` (embeddings), ``pairs`` (candidate pairs
and clustering). The public names are re-exported here.

Typical MinHash dedup::

    sigs = minhash_signatures(texts, num_perm=128)
    bands, rows = optimal_bands_rows(0.8, 128)
    pairs = lsh_candidate_pairs(sigs, bands=bands, rows=rows)
    cluster = cluster_duplicates(len(texts), pairs, signatures=sigs, threshold=0.8)
    keep = cluster == np.arange(len(texts))          # first member of every cluster
"""

from dataflow.lib.dedup.exact import exact_hashes
from dataflow.lib.dedup.minhash import (
    EMPTY_SIGNATURE_VALUE,
    lsh_candidate_pairs,
    minhash_signatures,
    optimal_bands_rows,
)
from dataflow.lib.dedup.ngram import NgramHashSets, ngram_hash_signatures, ngram_overlap_pairs
from dataflow.lib.dedup.pairs import cluster_duplicates
from dataflow.lib.dedup.semantic import semantic_duplicate_pairs
from dataflow.lib.dedup.shingles import normalize_for_hash
from dataflow.lib.dedup.simhash import simhash_candidate_pairs, simhash_fingerprints

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
