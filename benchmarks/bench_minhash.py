"""MinHash near-duplicate detection: ours beside rensa and datasketch, speed per core and recall.

    .venv/bin/python benchmarks/bench_minhash.py [--corpus /tmp/pt20k.jsonl] [--datasketch-docs 1000]

(``make bench`` installs the peers: the ``bench`` extra, rensa==0.5.0 and datasketch==2.0.0.)

Corpus: the shared 20,000-document pre-training corpus (``../shared/bench/make_pt_corpus.py``) plus 200
planted near copies of random documents: 0.5-3% random character edits, and the paragraphs shuffled in
half of them. Only copies whose true Jaccard with their source (character 5-gram sets of the normalised
texts) is >= 0.8 are planted, so every one of them should be found. The other side of recall: 200 planted
*decoys*, edited more (6-15%) and kept only at true Jaccard 0.5-0.7, which a dedup at 0.8 should leave
apart; the table counts the decoys each implementation merges with their source.

Every implementation computes 128-permutation MinHash over character 5-grams of the same normalised text
(lowercase, punctuation removed, whitespace collapsed) and LSH at Jaccard 0.8, in one process:

* ours: ``minhash_signatures`` + LSH banding + clustering, with MinHashDeduplicateFilter's banding and
  verification (what the operator runs);
* rensa, per document: the shingle list built in Python, ``RMinHash.update``, ``RMinHashLSH`` insert
  and query (16 bands, rensa's documented setting) — how rensa is used on strings;
* rensa, batch: our shingle hashes handed to ``RMinHash.digest_matrix_from_flat_token_hashes`` and
  ``insert_matrix`` — rensa's fastest kernel, fed by our vectorised shingling;
* datasketch on the first ``--datasketch-docs`` documents (it is ~100x slower): ``MinHash.update`` per
  shingle, ``MinHashLSH`` insert and query.

Speed is documents per CPU-second of the process (docs/s/core; all run on one core). Recall counts the
planted copies that each finds linked to their source (rensa and datasketch: the source is among the
LSH candidates, no verification, which can only raise their recall; datasketch's recall is measured
on the planted pairs alone, whose result does not depend on the other documents).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

import numpy as np
from _corpus import ensure_corpus  # benchmarks/ is the script's folder, first on sys.path

from dataflow.lib import dedup as dk
from dataflow.lib.dedup import _compiled
from dataflow.lib.dedup.shingles import _char_class_table, _shingle_chunks
from dataflow.operators.general_text.dedup.minhash import default_verify_threshold, recall_banding

NUM_PERM, NGRAM, THRESHOLD, SEED, PLANTED = 128, 5, 0.8, 42, 200
DECOY_JACCARD = (0.5, 0.7)  # true Jaccard of the planted decoys


def char_shingles(normalised: str) -> set[str]:
    if len(normalised) <= NGRAM:
        return {normalised} if normalised else set()
    return {normalised[i : i + NGRAM] for i in range(len(normalised) - NGRAM + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def plant_copies(texts: list[str], rng: random.Random, edits: tuple[float, float] = (0.005, 0.03),
                 jaccard_range: tuple[float, float] = (THRESHOLD, 1.01)) -> tuple[list[str], list[int], list[float]]:
    """PLANTED edited copies whose true Jaccard with their source is in ``jaccard_range`` (near copies by
    default): (copies, source index, true Jaccard)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz "
    copies, sources, truths = [], [], []
    while len(copies) < PLANTED:
        src = rng.randrange(len(texts))
        paragraphs = texts[src].split("\n\n")
        if rng.random() < 0.5:
            rng.shuffle(paragraphs)
        chars = list("\n\n".join(paragraphs))
        for _ in range(int(len(chars) * rng.uniform(*edits))):
            pos = rng.randrange(len(chars))
            op = rng.random()
            if op < 0.4:
                chars[pos] = rng.choice(alphabet)
            elif op < 0.7:
                chars.insert(pos, rng.choice(alphabet))
            else:
                del chars[pos]
        copy = "".join(chars)
        a, b = dk.normalize_for_hash([texts[src], copy])
        truth = jaccard(char_shingles(a), char_shingles(b))
        if jaccard_range[0] <= truth < jaccard_range[1]:
            copies.append(copy)
            sources.append(src)
            truths.append(truth)
    return copies, sources, truths


def cpu_timed(fn):
    start = time.process_time()
    result = fn()
    return result, time.process_time() - start


def ours(texts: list[str]) -> np.ndarray:
    """Cluster id per document, as MinHashDeduplicateFilter decides it."""
    signatures = dk.minhash_signatures(texts, num_perm=NUM_PERM, ngram=NGRAM, seed=SEED, tokenize="char")
    bands, rows = recall_banding(THRESHOLD, NUM_PERM)
    pairs = dk.lsh_candidate_pairs(signatures, bands=bands, rows=rows)
    return dk.cluster_duplicates(len(texts), pairs, signatures=signatures,
                                 threshold=default_verify_threshold(THRESHOLD, NUM_PERM))


def rensa_per_document(normalised: list[str]):
    from rensa import RMinHash, RMinHashLSH

    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=16)
    hashes = []
    for key, text in enumerate(normalised):
        m = RMinHash(num_perm=NUM_PERM, seed=SEED)
        m.update(list(char_shingles(text)))
        lsh.insert(key, m)
        hashes.append(m)
    return lsh, hashes


def rensa_batch(texts: list[str]):
    from rensa import RMinHash, RMinHashLSH

    parts, offsets = [], [0]
    for _start, _stop, shingle_hashes, shingle_doc in _shingle_chunks(texts, NGRAM, "char", True):
        parts.append(shingle_hashes)
        counts = np.bincount(shingle_doc, minlength=_stop - _start)
        offsets.extend((offsets[-1] + np.cumsum(counts)).tolist())
    matrix = RMinHash.digest_matrix_from_flat_token_hashes(np.concatenate(parts), np.asarray(offsets, np.uint64),
                                                           NUM_PERM, SEED)
    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=16)
    flags = lsh.insert_matrix_and_query_duplicate_flags(matrix)
    return np.asarray(flags, dtype=bool)


def datasketch_lsh(normalised: list[str]):
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    sketches = []
    for key, text in enumerate(normalised):
        m = MinHash(num_perm=NUM_PERM, seed=SEED)
        for shingle in char_shingles(text):
            m.update(shingle.encode("utf-8"))
        lsh.insert(key, m)
        sketches.append(m)
    return lsh, sketches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/tmp/pt20k.jsonl")
    parser.add_argument("--field", default="raw_content")
    parser.add_argument("--datasketch-docs", type=int, default=1000)
    args = parser.parse_args()

    with ensure_corpus(args.corpus).open() as fh:
        base = [json.loads(line)[args.field] for line in fh]
    rng = random.Random(0)
    copies, sources, truths = plant_copies(base, rng)
    decoys, decoy_sources, decoy_truths = plant_copies(base, rng, edits=(0.06, 0.15), jaccard_range=DECOY_JACCARD)
    texts = base + copies + decoys
    n, first_copy, first_decoy = len(texts), len(base), len(base) + PLANTED
    print(f"corpus: {len(base):,} documents + {PLANTED} planted near copies (true Jaccard "
          f"{min(truths):.3f}-{max(truths):.3f}, median {np.median(truths):.3f}) + {PLANTED} decoys (true Jaccard "
          f"{min(decoy_truths):.3f}-{max(decoy_truths):.3f}); char {NGRAM}-grams, {NUM_PERM} permutations, "
          f"threshold {THRESHOLD}")

    def linked(cluster: np.ndarray) -> tuple[int, int]:
        """(planted copies found, decoys merged) of one clustering."""
        return (int(sum(cluster[first_copy + k] == cluster[s] for k, s in enumerate(sources))),
                int(sum(cluster[first_decoy + k] == cluster[s] for k, s in enumerate(decoy_sources))))

    def queried(lsh, sketches) -> tuple[int, int]:
        """The same for an LSH index queried with each planted text's sketch (its source among the hits)."""
        return (sum(s in lsh.query(sketches[first_copy + k]) for k, s in enumerate(sources)),
                sum(s in lsh.query(sketches[first_decoy + k]) for k, s in enumerate(decoy_sources)))
    _char_class_table()
    dk.minhash_signatures(texts[:20], tokenize="char")  # first-use imports, not timed

    rows, identical = [], None
    cluster, seconds = cpu_timed(lambda: ours(texts))
    found = linked(cluster)
    kernel = "C" if _compiled.available() else "numpy"
    rows.append((f"ours ({kernel} kernel)", n, seconds, found))
    if kernel == "C":  # the numpy kernel is what ran before the compiled one: same signatures
        os.environ["DATAFLOW_NO_COMPILED"] = "1"
        _compiled.kernels.cache_clear()
        before, seconds = cpu_timed(lambda: ours(texts))
        del os.environ["DATAFLOW_NO_COMPILED"]
        _compiled.kernels.cache_clear()
        found = linked(before)
        rows.append(("ours, numpy kernel (the code before)", n, seconds, found))
        identical = np.array_equal(before, cluster)

    try:
        import rensa  # noqa: F401
    except ImportError:
        print("rensa not installed: skipped (pip install rensa==0.5.0, or make bench)")
    else:
        normalised, norm_seconds = cpu_timed(lambda: dk.normalize_for_hash(texts))
        (lsh, sketches), seconds = cpu_timed(lambda: rensa_per_document(normalised))
        found = queried(lsh, sketches)
        rows.append(("rensa, per document (RMinHash.update)", n, norm_seconds + seconds, found))
        flags, seconds = cpu_timed(lambda: rensa_batch(texts))
        rows.append(("rensa, batch on our shingle hashes", n, seconds, None))

    try:
        import datasketch  # noqa: F401
    except ImportError:
        print("datasketch not installed: skipped (pip install datasketch==2.0.0, or make bench)")
    else:
        subset = texts[: args.datasketch_docs]
        _, seconds = cpu_timed(lambda: datasketch_lsh(dk.normalize_for_hash(subset)))
        pairs = [base[s] for s in sources] + copies + [base[s] for s in decoy_sources] + decoys
        lsh, sketches = datasketch_lsh(dk.normalize_for_hash(pairs))
        found = (sum(k in lsh.query(sketches[PLANTED + k]) for k in range(PLANTED)),
                 sum(2 * PLANTED + k in lsh.query(sketches[3 * PLANTED + k]) for k in range(PLANTED)))
        rows.append((f"datasketch (first {len(subset):,} docs)", len(subset), seconds, found))

    ours_rate = rows[0][1] / rows[0][2]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'implementation':<{width}}  {'docs':>6}  {'CPU s':>7}  {'docs/s/core':>11}  {'vs ours':>7}  "
          f"{'copies found (J >= 0.8)':>23}  {'decoys merged (J < 0.7)':>23}")
    for name, docs, seconds, found in rows:
        rate = docs / seconds
        copies_found, decoys_merged = (f"{found[0]}/{PLANTED}", f"{found[1]}/{PLANTED}") if found else ("-", "-")
        print(f"{name:<{width}}  {docs:>6,}  {seconds:>7.2f}  {rate:>11,.0f}  {rate / ours_rate:>6.2f}x  "
              f"{copies_found:>23}  {decoys_merged:>23}")
    ok_speed = ours_rate >= 2000
    print(f"\ntargets: ours >= 2,000 docs/s/core -> {'ok' if ok_speed else 'MISSED'}; recall unchanged (the "
          f"clusters of the numpy kernel that ran before) -> {'ok' if identical in (True, None) else 'MISSED'}")
    if identical is not None:
        print(f"C and numpy kernels give identical clusters: {identical}")
    missed = [(truths[k], first_copy + k) for k, s in enumerate(sources) if cluster[first_copy + k] != cluster[s]]
    for truth, row in missed:
        print(f"  missed: planted copy {row}, true Jaccard {truth:.3f}")
    peers = {name: (docs / seconds, *(found or (None, None))) for name, docs, seconds, found in rows[1:]}
    print("RESULT " + json.dumps({"ours_docs_per_s_core": ours_rate, "ours_found": rows[0][3][0],
                                  "ours_decoys_merged": rows[0][3][1], "planted": PLANTED,
                                  "identical_to_numpy": identical, "peers": peers}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
