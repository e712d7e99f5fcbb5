"""Near duplicates by SimHash fingerprints within a small Hamming distance."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from dataflow.core.errors import ParamsError
from dataflow.core.operator import OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.dedup.simhash import simhash_block_keys, simhash_fingerprints, simhash_within
from dataflow.operators.general_text.dedup._base import ClusterDedup, Mode


@register_operator
class SimHashDeduplicateFilter(ClusterDedup):
    """Drop near-duplicate texts whose SimHash fingerprints differ in at most ``max_distance`` bits.

    Every text gets a ``bits``-bit SimHash of its word (or character) ``ngram`` shingles, counted with
    multiplicity, of the normalised text; pairs within ``max_distance`` bits are found with permuted
    block tables (Manku et al., 2007; ``blocks`` defaults to ``max_distance + 1``) and checked with an
    exact popcount. Linked rows form clusters; the first row of each, in input order, is kept
    (``mode="drop_all"`` drops whole clusters) and ``output_key`` gets every row's representative.
    SimHash suits near-identical pages (templated boilerplate, small edits of long texts); a 64-bit
    fingerprint with distance 3 is the classic web-crawl setting. Scan state: one uint64 per row.
    """

    output_key = OutputColumn("simhash_cluster", "str",
                              description="row id of the kept representative of the row's cluster")

    def __init__(self, max_distance: int = 3, bits: int = 64, ngram: int = 3,
                 tokenize: Literal["word", "char"] = "word", blocks: int | None = None,
                 mode: Mode = "keep_one") -> None:
        super().__init__(mode=mode)
        if not 1 <= bits <= 64:
            raise ParamsError(f"{self.op_name()}: bits must be in [1, 64], got {bits}")
        if not 0 <= max_distance < bits:
            raise ParamsError(f"{self.op_name()}: max_distance must be in [0, bits), got {max_distance}")
        if blocks is not None and not max_distance + 1 <= blocks <= bits:
            raise ParamsError(f"{self.op_name()}: blocks must be in [max_distance + 1, bits]")
        self.max_distance, self.bits, self.ngram, self.tokenize = max_distance, bits, ngram, tokenize
        self.blocks = blocks

    @property
    def drop_reason(self) -> str:
        return f"simhash duplicate (hamming <= {self.max_distance})"

    def signatures(self, texts: list[str], ctx: Any) -> np.ndarray:
        return simhash_fingerprints(texts, ngram=self.ngram, bits=self.bits, tokenize=self.tokenize)

    def group_keys(self, signatures: np.ndarray) -> np.ndarray:
        return simhash_block_keys(signatures, max_distance=self.max_distance, blocks=self.blocks, bits=self.bits)

    def link(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return simhash_within(a, b, self.max_distance)
