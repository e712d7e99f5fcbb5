"""Compiled inner loops of the dedup kernels (numba), used when numba is installed.

Each function here computes exactly what the numpy code beside its caller computes (same integer
arithmetic, same results bit for bit; ``tests/lib/test_dedup_compiled.py`` compares them), only in one
pass over the data instead of one numpy pass per arithmetic step. numba was measured against the
alternatives on the 20k-document benchmark corpus (``benchmarks/bench_minhash.py``): the broadcast numpy
kernel spends 7 full passes over a ``(shingles x num_perm)`` uint64 array; rensa (Rust) hashes with its
own scheme, so signatures, and which pairs are found, would change. numba keeps our hash functions and
compiles the loops to SIMD code; it is BSD-licensed, has wheels for every platform numpy has, and
caches its machine code on disk (``cache=True``), so only the first import on a machine pays the
compile (about 2 s).

``available()`` says whether the compiled path is used; ``DATAFLOW_NO_NUMBA=1`` forces the numpy path
(tests use it to compare the two).
"""

from __future__ import annotations

import os
from functools import lru_cache


@lru_cache(maxsize=1)
def kernels():
    """The compiled kernels as a namespace, or ``None`` when numba is absent or disabled."""
    if os.environ.get("DATAFLOW_NO_NUMBA"):
        return None
    try:
        import numba
    except ImportError:
        return None
    return _compile(numba)


def available() -> bool:
    return kernels() is not None


def _compile(numba):
    import types

    import numpy as np

    jit = numba.njit(cache=True, nogil=True, boundscheck=False)
    mersenne31 = np.uint64((1 << 31) - 1)

    @jit
    def minhash_runs(reduced, run_start, run_doc, a, b, out):
        """``out[run_doc[r], k] = min(out[...], min over the run's shingles of (a_k*h + b_k) mod p)``.

        ``reduced``: uint32 shingle hashes already reduced modulo p = 2**31 - 1, grouped in runs (one per
        document); run r is ``reduced[run_start[r]:run_start[r + 1]]``. ``a``, ``b``: uint32 (< p).
        The loop over the ``num_perm`` functions is innermost: it vectorises (32x32->64-bit multiplies,
        no reduction chain) and the running minima stay in a small buffer in L1 cache; with the loop
        over shingles innermost instead it ran 4x slower.
        """
        num_perm = a.size
        a64 = a.astype(np.uint64)
        b64 = b.astype(np.uint64)
        best = np.empty(num_perm, np.uint32)
        for r in range(run_doc.size):
            row = out[run_doc[r]]
            best[:] = row
            for i in range(run_start[r], run_start[r + 1]):
                h = np.uint64(reduced[i])
                for k in range(num_perm):
                    x = a64[k] * h + b64[k]  # < 2**62: exact
                    # mod p by folding the high bits onto the low ones, then one conditional
                    # subtraction done in uint32 (s - p wraps above s when s < p): the numpy kernel's
                    # arithmetic, so results are identical.
                    s = np.uint32((x & mersenne31) + (x >> np.uint64(31)))
                    t = np.uint32(s - np.uint32(mersenne31))
                    v = s if s < t else t
                    if v < best[k]:
                        best[k] = v
            row[:] = best

    @jit
    def simhash_votes(hashes, shingle_doc, bits, votes):
        """``votes[d, k] += +1 / -1`` for bit ``k`` of each shingle hash of document ``d`` (top ``bits``
        bits of the hash, already shifted down by the caller)."""
        for i in range(hashes.size):
            h = hashes[i]
            row = votes[shingle_doc[i]]
            for k in range(bits):
                row[k] += np.int64((h >> np.uint64(k)) & np.uint64(1)) * 2 - 1

    return types.SimpleNamespace(minhash_runs=minhash_runs, simhash_votes=simhash_votes)
