"""Benchmark: MinHash signatures + LSH + clustering on the pre-training corpus.

Build the corpus first (20,000 documents, ~62 MB of real Wikipedia paragraphs):

    python ../shared/bench/make_pt_corpus.py /tmp/pt20k.jsonl
    python benchmarks/bench_dedup_kernels.py /tmp/pt20k.jsonl [--field raw_content] [--datasketch 500]

Prints one table row per stage: documents, wall seconds, process CPU seconds (steadier than wall
time on a busy shared machine), documents/s (wall) and the process's peak RSS after the stage (the
corpus itself is loaded before timing). ``--datasketch N`` also times datasketch's
MinHash (``pip install datasketch==2.0.0``, optional) on the first N documents with the same word
5-gram shingles and reports the per-document speed ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from dataflow.lib import dedup as dk
from dataflow.lib.dedup.shingles import _char_class_table


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def datasketch_seconds(texts: list[str], num_perm: int, ngram: int) -> float | None:
    try:
        from datasketch import MinHash
    except ImportError:
        return None
    start = time.perf_counter()
    for text in dk.normalize_for_hash(texts):
        words = text.split()
        shingles = {" ".join(words[i : i + ngram]) for i in range(max(1, len(words) - ngram + 1))}
        mh = MinHash(num_perm=num_perm, seed=42)
        for shingle in shingles:  # the reference implementation's per-shingle update loop
            mh.update(shingle.encode("utf-8"))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--field", default="raw_content")
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--ngram", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--datasketch", type=int, default=0, metavar="N",
                        help="also time datasketch MinHash on the first N documents")
    args = parser.parse_args()

    with args.corpus.open() as f:
        texts = [json.loads(line)[args.field] for line in f]
    n = len(texts)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 2**20
    print(f"corpus: {n} documents, {mb:.1f} MB of text; RSS after loading {peak_rss_mb():.0f} MB")
    _char_class_table()  # one-time ~30 ms table build, not part of the per-corpus cost

    rows: list[tuple[str, int, float]] = []
    rss: list[float] = []
    cpu: list[float] = []
    cpu_mark = [time.process_time()]

    def stage(name: str, seconds: float) -> None:
        rows.append((name, n, seconds))
        rss.append(peak_rss_mb())
        now = time.process_time()
        cpu.append(now - cpu_mark[0])
        cpu_mark[0] = now

    t0 = time.perf_counter()
    sig = dk.minhash_signatures(texts, num_perm=args.num_perm, ngram=args.ngram)
    stage(f"minhash_signatures (word {args.ngram}-grams, {args.num_perm} perm)", time.perf_counter() - t0)

    t0 = time.perf_counter()
    bands, rows_per_band = dk.optimal_bands_rows(args.threshold, args.num_perm)
    pairs = dk.lsh_candidate_pairs(sig, bands=bands, rows=rows_per_band)
    stage(f"lsh_candidate_pairs ({bands}x{rows_per_band}) -> {len(pairs)} pairs", time.perf_counter() - t0)

    t0 = time.perf_counter()
    cluster = dk.cluster_duplicates(n, pairs, signatures=sig, threshold=args.threshold)
    removed = int((cluster != np.arange(n)).sum())
    stage(f"cluster_duplicates -> {removed} duplicates", time.perf_counter() - t0)

    rows.append(("total (minhash + LSH + clustering)", n, sum(r[2] for r in rows)))
    rss.append(peak_rss_mb())
    cpu.append(sum(cpu))
    cpu_mark[0] = time.process_time()

    t0 = time.perf_counter()
    dk.exact_hashes(texts)
    stage("exact_hashes (extra)", time.perf_counter() - t0)
    t0 = time.perf_counter()
    dk.simhash_fingerprints(texts)
    stage("simhash_fingerprints (extra)", time.perf_counter() - t0)

    width = max(len(r[0]) for r in rows)
    print(f"{'stage':<{width}}  {'docs':>6}  {'wall s':>7}  {'CPU s':>6}  {'docs/s':>8}  {'peak RSS MB':>11}")
    for (name, docs, seconds), cpu_s, mem in zip(rows, cpu, rss):
        line = f"{name:<{width}}  {docs:>6}  {seconds:>7.2f}  {cpu_s:>6.2f}  {docs / seconds:>8.0f}"
        print(f"{line}  {mem:>11.0f}")

    if args.datasketch:
        subset = texts[: args.datasketch]
        seconds = datasketch_seconds(subset, args.num_perm, args.ngram)
        if seconds is None:
            print("datasketch not installed; skipped (pip install datasketch==2.0.0)")
        else:
            ours = rows[0][2] / n
            theirs = seconds / len(subset)
            print(
                f"datasketch MinHash on {len(subset)} docs: {seconds:.2f} s "
                f"({len(subset) / seconds:.0f} docs/s, ~{theirs * n:.0f} s extrapolated to {n}); "
                f"minhash_signatures is {theirs / ours:.0f}x faster"
            )


if __name__ == "__main__":
    main()
