"""The compiled inner loops of the dedup kernels (``_kernels.c``), when the build made them.

Each compiled loop computes exactly what the numpy code beside its caller computes (same integer
arithmetic, same results bit for bit; ``tests/lib/test_dedup_compiled.py`` compares them), in one pass
over the data instead of one numpy pass per arithmetic step: MinHash signatures take ~6x less CPU.
Measured alternatives (``benchmarks/bench_minhash.py`` on the 20k corpus): rensa (Rust) hashes with its
own scheme, so signatures, and which pairs are found, would change, and it was slower than this loop
fed the same shingle hashes; numba compiled the same loop as fast, but importing it and loading its
cached machine code costs ~145 MB in every worker process, which alone broke the pre-training
pipeline's 0.5 GB budget.

``kernels()`` is the C module or ``None`` (no compiler at install time, or ``DATAFLOW_NO_COMPILED=1``,
which tests and benchmarks use to run the numpy path).
"""

from __future__ import annotations

import os
from functools import lru_cache
from types import ModuleType


@lru_cache(maxsize=1)
def kernels() -> ModuleType | None:
    if os.environ.get("DATAFLOW_NO_COMPILED"):
        return None
    try:
        from dataflow.lib.dedup import _kernels
    except ImportError:
        return None
    return _kernels


def available() -> bool:
    return kernels() is not None
